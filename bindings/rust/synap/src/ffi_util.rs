//! Small helpers at the FFI boundary: byte slices as (pointer, length)
//! arrays, and buffers that libsynap allocated.

use std::os::raw::c_void;
use std::slice;

use synap_sys as sys;

/// A byte slice as the `const void*` libsynap takes.
pub(crate) fn ptr_of(b: &[u8]) -> *const c_void {
    b.as_ptr() as *const c_void
}

/// The `(const void* const*, const size_t*)` pair of n keys (or values).
/// Borrows the slices, so they outlive the call.
pub(crate) struct SliceArray<'a> {
    ptrs: Vec<*const c_void>,
    lens: Vec<usize>,
    _borrow: std::marker::PhantomData<&'a [u8]>,
}

impl<'a> SliceArray<'a> {
    pub(crate) fn new<I>(items: I) -> SliceArray<'a>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut ptrs = Vec::new();
        let mut lens = Vec::new();
        for b in items {
            ptrs.push(ptr_of(b));
            lens.push(b.len());
        }
        SliceArray { ptrs, lens, _borrow: std::marker::PhantomData }
    }

    pub(crate) fn len(&self) -> usize {
        self.ptrs.len()
    }

    pub(crate) fn ptrs(&self) -> *const *const c_void {
        self.ptrs.as_ptr()
    }

    pub(crate) fn lens(&self) -> *const usize {
        self.lens.as_ptr()
    }
}

/// Frees a libsynap buffer when dropped (NULL is fine).
pub(crate) struct CBuf(pub(crate) *mut c_void);

impl Drop for CBuf {
    fn drop(&mut self) {
        if !self.0.is_null() {
            unsafe { sys::synap_free(self.0) };
        }
    }
}

/// Copies `len` bytes of a libsynap buffer and frees it.
///
/// # Safety
/// `ptr` is NULL or a buffer of at least `len` bytes from libsynap, not used
/// afterwards.
pub(crate) unsafe fn take_buf(ptr: *mut c_void, len: usize) -> Vec<u8> {
    let guard = CBuf(ptr);
    if guard.0.is_null() || len == 0 {
        return Vec::new();
    }
    slice::from_raw_parts(guard.0 as *const u8, len).to_vec()
}

/// `take_buf`, or None for a NULL pointer.
pub(crate) unsafe fn take_opt_buf(ptr: *mut c_void, len: usize) -> Option<Vec<u8>> {
    if ptr.is_null() {
        None
    } else {
        Some(take_buf(ptr, len))
    }
}
