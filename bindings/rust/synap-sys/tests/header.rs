//! The hand-written declarations against the header they were written from:
//! every `SYNAP_API` function (with the same parameter and return types),
//! every function-pointer typedef (same parameter types), every struct (same
//! fields, same types, and the same offsets as the C compiler lays them out)
//! and every numeric `#define SYNAP_*` of capi/include/synap/synap.h must be
//! declared in src/lib.rs (with the same value), and nothing else. Skipped
//! when the crate is built outside the Synap repository; the layout check is
//! also skipped when no C compiler (`$CC`, else `cc`) can be run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

const RUST_SOURCE: &str = include_str!("../src/lib.rs");

fn header_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../capi/include/synap/synap.h")
}

fn header() -> Option<String> {
    std::fs::read_to_string(header_path()).ok()
}

/// "0x10u", "(-13)", "42" -> the number.
fn parse_number(text: &str) -> Option<i64> {
    let t = text.trim().trim_start_matches('(').trim_end_matches(')').trim();
    let t = t.trim_end_matches(['u', 'U', 'l', 'L']);
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let v = match t.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None => t.parse::<i64>().ok()?,
    };
    Some(if neg { -v } else { v })
}

fn header_functions(h: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in h.lines().filter(|l| l.starts_with("SYNAP_API")) {
        let before_paren = line.split('(').next().unwrap();
        let name = before_paren.split_whitespace().last().unwrap().trim_start_matches('*');
        out.push(name.to_string());
    }
    out
}

fn header_constants(h: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for line in h.lines() {
        let rest = match line.strip_prefix("#define ") {
            Some(r) => r,
            None => continue,
        };
        let rest = rest.split("/*").next().unwrap().trim();
        let mut parts = rest.splitn(2, char::is_whitespace);
        let name = parts.next().unwrap();
        let value = parts.next().unwrap_or("").trim();
        if let Some(v) = parse_number(value) {
            out.insert(name.to_string(), v);
        }
    }
    out
}

fn rust_constants() -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for line in RUST_SOURCE.lines() {
        let rest = match line.trim().strip_prefix("pub const ") {
            Some(r) => r,
            None => continue,
        };
        let name = rest.split(':').next().unwrap().trim();
        let value = rest.split('=').nth(1).unwrap_or("").trim().trim_end_matches(';');
        if let Some(v) = parse_number(value) {
            out.insert(name.to_string(), v);
        }
    }
    out
}

/// `typedef struct NAME { fields };` of the header: (NAME, [(field, C type)] in order).
fn header_structs(h: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut lines = h.lines();
    while let Some(line) = lines.next() {
        let name = match line.strip_prefix("typedef struct ").and_then(|r| r.strip_suffix(" {")) {
            Some(n) => n.trim().to_string(),
            None => continue,
        };
        let mut fields = Vec::new();
        for l in lines.by_ref() {
            let l = l.split("/*").next().unwrap().trim();
            if l.starts_with('}') {
                break;
            }
            if let Some(decl) = l.strip_suffix(';') {
                let (field, ty) = split_decl(decl);
                fields.push((field, c_to_rust(&ty)));
            }
        }
        out.push((name, fields));
    }
    out
}

/// The fields, in order, of `pub struct NAME { .. }` in src/lib.rs:
/// [(field, Rust type)].
fn rust_struct_fields(name: &str) -> Option<Vec<(String, String)>> {
    let start = RUST_SOURCE.find(&format!("pub struct {} {{", name))?;
    let body = &RUST_SOURCE[start..];
    let body = &body[body.find('{')? + 1..body.find("\n}")?];
    Some(
        body.lines()
            .map(|l| l.trim())
            .filter_map(|l| l.strip_prefix("pub "))
            .map(|l| {
                let mut parts = l.splitn(2, ':');
                let field = parts.next().unwrap().trim().to_string();
                let ty = parts.next().unwrap_or("").trim().trim_end_matches(',');
                (field, normalize(ty))
            })
            .collect(),
    )
}

// ---- C types as the Rust types synap-sys must use for them ----

/// A type with its whitespace collapsed to single spaces ("*const c_void").
fn normalize(ty: &str) -> String {
    ty.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A C declaration "const void* key" -> ("key", "const void*").
fn split_decl(decl: &str) -> (String, String) {
    let decl = decl.trim();
    let split = decl.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
    (decl[split..].to_string(), decl[..split].trim().to_string())
}

/// The Rust spelling of a C type of synap.h: "const void* const*" ->
/// "*const *const c_void", "synap_events**" -> "*mut *mut synap_events".
fn c_to_rust(c: &str) -> String {
    let spaced = c.replace('*', " * ");
    let toks: Vec<&str> = spaced.split_whitespace().collect();
    let mut i = 0;
    let mut is_const = false;
    let mut base = Vec::new();
    while i < toks.len() && toks[i] != "*" {
        match toks[i] {
            "const" => is_const = true,
            t => base.push(t),
        }
        i += 1;
    }
    let base = base.join(" ");
    let mut rust = match base.as_str() {
        "void" => "c_void",
        "char" => "c_char",
        "int" => "c_int",
        "unsigned" | "unsigned int" => "c_uint",
        "size_t" => "usize",
        "uint8_t" => "u8",
        "uint32_t" => "u32",
        "int32_t" => "i32",
        "uint64_t" => "u64",
        "int64_t" => "i64",
        other => other, // synap_* typedefs keep their names
    }
    .to_string();
    while i < toks.len() {
        match toks[i] {
            "*" => {
                rust = format!("*{} {}", if is_const { "const" } else { "mut" }, rust);
                is_const = false;
            }
            "const" => is_const = true, // applies to the pointer just built
            t => panic!("cannot translate C type {:?} (token {:?})", c, t),
        }
        i += 1;
    }
    normalize(&rust)
}

/// A comma-separated C parameter list -> the Rust types ("void" -> none).
fn c_params(list: &str) -> Vec<String> {
    let list = list.trim();
    if list.is_empty() || list == "void" {
        return Vec::new();
    }
    list.split(',').map(|p| c_to_rust(&split_decl(p).1)).collect()
}

/// A comma-separated Rust parameter list "a: T, b: U" -> the types.
fn rust_params(list: &str) -> Vec<String> {
    list.split(',')
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| normalize(p.split_once(':').map(|x| x.1).unwrap_or_else(|| panic!("parameter {:?} has no type", p))))
        .collect()
}

/// Every `SYNAP_API` prototype: name -> (return type, parameter types), in Rust spelling.
fn header_signatures(h: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    let mut rest = h;
    while let Some(at) = rest.find("\nSYNAP_API ") {
        let proto = &rest[at + "\nSYNAP_API ".len()..];
        let end = proto.find(';').expect("prototype without ';'");
        let proto = proto[..end].split_whitespace().collect::<Vec<_>>().join(" ");
        let open = proto.find('(').unwrap();
        let (name, ret) = split_decl(&proto[..open]);
        let ret = if ret == "void" { String::new() } else { c_to_rust(&ret) };
        let params = c_params(&proto[open + 1..proto.rfind(')').unwrap()]);
        out.insert(name, (ret, params));
        rest = &rest[at + 1..];
    }
    out
}

/// Every `pub fn synap_*(..) -> T;` of src/lib.rs: name -> (return type, parameter types).
fn rust_signatures() -> BTreeMap<String, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    let mut rest = RUST_SOURCE;
    while let Some(at) = rest.find("pub fn synap_") {
        let decl = &rest[at + "pub fn ".len()..];
        let end = decl.find(';').expect("declaration without ';'");
        let decl = decl[..end].split_whitespace().collect::<Vec<_>>().join(" ");
        let open = decl.find('(').unwrap();
        let close = decl.rfind(')').unwrap();
        let name = decl[..open].to_string();
        let ret = decl[close + 1..].trim().strip_prefix("->").map_or(String::new(), normalize);
        out.insert(name, (ret, rust_params(&decl[open + 1..close])));
        rest = &rest[at + 1..];
    }
    out
}

/// `typedef RET (*NAME)(params);` of the header: NAME -> (return, parameter types).
fn header_fn_typedefs(h: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    for line in h.lines().filter(|l| l.starts_with("typedef ") && l.contains("(*")) {
        let ret = line["typedef ".len()..line.find("(*").unwrap()].trim();
        let ret = if ret == "void" { String::new() } else { c_to_rust(ret) };
        let after = &line[line.find("(*").unwrap() + 2..];
        let name = after[..after.find(')').unwrap()].trim().to_string();
        let params = &after[after.find(")(").unwrap() + 2..after.rfind(')').unwrap()];
        out.insert(name, (ret, c_params(params)));
    }
    out
}

/// `pub type NAME = Option<unsafe extern "C" fn(params) -> RET>;` of src/lib.rs.
fn rust_fn_typedef(name: &str) -> Option<(String, Vec<String>)> {
    let start = RUST_SOURCE.find(&format!("pub type {} =", name))?;
    let decl = &RUST_SOURCE[start..];
    let decl = decl[..decl.find(';')?].split_whitespace().collect::<Vec<_>>().join(" ");
    let decl = decl.strip_suffix('>')?;
    let marker = "extern \"C\" fn(";
    let open = decl.find(marker)? + marker.len();
    let close = decl.rfind(')')?;
    let ret = decl[close + 1..].trim().strip_prefix("->").map_or(String::new(), normalize);
    Some((ret, rust_params(&decl[open..close])))
}

#[test]
fn header_matches() {
    let h = match header() {
        Some(h) => h,
        None => {
            eprintln!("synap.h not found beside this crate; skipping the comparison");
            return;
        }
    };

    let funcs = header_functions(&h);
    assert!(funcs.len() > 40, "parsed only {} functions from synap.h", funcs.len());
    for f in &funcs {
        assert!(RUST_SOURCE.contains(&format!("pub fn {}(", f)), "synap.h declares {} but synap-sys does not", f);
    }
    let declared = RUST_SOURCE.matches("pub fn synap_").count();
    assert_eq!(declared, funcs.len(), "synap-sys declares functions that synap.h does not have");

    let hc = header_constants(&h);
    let rc = rust_constants();
    for (name, v) in &hc {
        assert_eq!(rc.get(name), Some(v), "synap.h: {} = {}; synap-sys differs or lacks it", name, v);
    }
    for name in rc.keys() {
        assert!(hc.contains_key(name), "synap-sys has {} which synap.h does not define", name);
    }
    assert!(h.contains(&format!("#define SYNAP_VERSION_STRING \"{}\"", synap_sys::SYNAP_VERSION_STRING)));
    assert!(h.contains("SYNAP_VERSION_MAJOR * 10000 + SYNAP_VERSION_MINOR * 100 + SYNAP_VERSION_PATCH"));
    let structs = header_structs(&h);
    assert!(structs.len() >= 5, "parsed only {} structs from synap.h", structs.len());
    for (name, fields) in &structs {
        let rust = rust_struct_fields(name)
            .unwrap_or_else(|| panic!("synap.h defines struct {} but synap-sys does not", name));
        assert_eq!(&rust, fields, "struct {}: synap-sys's fields (or their types) differ from synap.h's", name);
        assert!(
            RUST_SOURCE.contains(&format!("#[repr(C)]\n#[derive(Debug, Clone, Copy)]\npub struct {} {{", name)),
            "struct {} must be #[repr(C)]",
            name
        );
    }
    let typedefs = header_fn_typedefs(&h);
    assert!(typedefs.len() >= 4, "parsed only {} callback typedefs from synap.h", typedefs.len());
    for (name, sig) in &typedefs {
        let rust = rust_fn_typedef(name).unwrap_or_else(|| {
            panic!("synap.h declares callback type {} but synap-sys has no `pub type {} = Option<..>`", name, name)
        });
        assert_eq!(&rust, sig, "callback type {}: synap-sys's (return, parameters) differ from synap.h's", name);
    }
    for ty in ["synap_progress_fn", "synap_key_fn", "synap_acked_fn", "synap_message_fn"] {
        assert!(typedefs.contains_key(ty), "{} no longer parsed from synap.h", ty);
    }
    assert!(h.contains("typedef uint64_t synap_ticket;") && RUST_SOURCE.contains("pub type synap_ticket = u64;"));
}

#[test]
fn function_signatures_match() {
    let h = match header() {
        Some(h) => h,
        None => return,
    };
    let hs = header_signatures(&h);
    let rs = rust_signatures();
    assert_eq!(hs.len(), header_functions(&h).len(), "every SYNAP_API line should parse as a prototype");
    for (name, (ret, params)) in &hs {
        let (rret, rparams) = rs.get(name).unwrap_or_else(|| panic!("synap-sys does not declare {}", name));
        assert_eq!(rret, ret, "{}: return type", name);
        assert_eq!(rparams, params, "{}: parameter types", name);
    }
    // Spot checks of the translation itself.
    assert_eq!(c_to_rust("const void* const*"), "*const *const c_void");
    assert_eq!(c_to_rust("synap_events**"), "*mut *mut synap_events");
    assert_eq!(c_to_rust("const synap_event_in*"), "*const synap_event_in");
    assert_eq!(c_to_rust("unsigned"), "c_uint");
    assert_eq!(hs["synap_stream_read"].1[4], "u64", "max_bytes is a uint64_t");
}

/// `offsetof`/`sizeof` by the C compiler against the Rust structs.
macro_rules! rust_layout {
    ($ty:ident { $($field:ident),* $(,)? }) => {{
        let m = std::mem::MaybeUninit::<synap_sys::$ty>::uninit();
        let base = m.as_ptr() as usize;
        #[allow(unused_unsafe)]
        let fields: Vec<(String, usize)> = vec![$((
            stringify!($field).to_string(),
            unsafe { std::ptr::addr_of!((*m.as_ptr()).$field) as usize - base },
        )),*];
        (
            stringify!($ty).to_string(),
            (std::mem::size_of::<synap_sys::$ty>(), std::mem::align_of::<synap_sys::$ty>(), fields),
        )
    }};
}

type Layout = (usize, usize, Vec<(String, usize)>);

fn rust_layouts() -> BTreeMap<String, Layout> {
    vec![
        rust_layout!(synap_header { key, key_len, value, value_len }),
        rust_layout!(synap_message {
            id,
            payload,
            payload_len,
            priority,
            delivery_count,
            redelivered,
            headers,
            header_count,
            reason
        }),
        rust_layout!(synap_event_in { key, key_len, payload, payload_len, headers, header_count, timestamp_ms }),
        rust_layout!(synap_event { offset, timestamp_ms, key, key_len, payload, payload_len, headers, header_count }),
        rust_layout!(synap_events { events, count, next_offset, high_watermark }),
    ]
    .into_iter()
    .collect()
}

/// Compiles and runs a C program printing "struct size align" and "struct.field
/// offset" lines for every struct of the header. None when no compiler runs.
fn c_layouts(structs: &[(String, Vec<(String, String)>)]) -> Option<BTreeMap<String, Layout>> {
    let mut prog =
        String::from("#include <stdio.h>\n#include <stddef.h>\n#include <synap/synap.h>\nint main(void) {\n");
    for (name, fields) in structs {
        prog += &format!("  printf(\"%s %zu %zu\\n\", \"{n}\", sizeof({n}), (size_t)_Alignof({n}));\n", n = name);
        for (f, _) in fields {
            prog += &format!("  printf(\"%s.%s %zu\\n\", \"{n}\", \"{f}\", offsetof({n}, {f}));\n", n = name, f = f);
        }
    }
    prog += "  return 0;\n}\n";
    let dir = std::env::temp_dir().join(format!("synap-sys-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&src, prog).ok()?;
    let include = header_path().parent()?.parent()?.to_path_buf();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = Command::new(&cc).arg("-std=c11").arg("-I").arg(&include).arg(&src).arg("-o").arg(&exe).output();
    let out = match built {
        Ok(o) if o.status.success() => Command::new(&exe).output().ok(),
        Ok(o) => panic!("{} could not compile the layout probe:\n{}", cc, String::from_utf8_lossy(&o.stderr)),
        Err(_) => None,
    };
    let _ = std::fs::remove_dir_all(&dir);
    let out = out?;
    assert!(out.status.success(), "the layout probe failed");
    let mut layouts: BTreeMap<String, Layout> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            [name, size, align] => {
                layouts.insert(name.to_string(), (size.parse().unwrap(), align.parse().unwrap(), Vec::new()));
            }
            [path, off] => {
                let (name, field) = path.split_once('.').unwrap();
                layouts.get_mut(name).unwrap().2.push((field.to_string(), off.parse().unwrap()));
            }
            _ => panic!("unexpected probe output {:?}", line),
        }
    }
    Some(layouts)
}

#[test]
fn struct_layouts_match_the_c_compiler() {
    let h = match header() {
        Some(h) => h,
        None => return,
    };
    let structs = header_structs(&h);
    let rust = rust_layouts();
    let names: Vec<&String> = structs.iter().map(|(n, _)| n).collect();
    assert_eq!(
        rust.keys().collect::<Vec<_>>(),
        {
            let mut n = names.clone();
            n.sort();
            n
        },
        "rust_layouts() must list every struct of synap.h"
    );
    let c = match c_layouts(&structs) {
        Some(c) => c,
        None => {
            eprintln!("no C compiler ran; skipping the layout comparison");
            return;
        }
    };
    for (name, layout) in &c {
        assert_eq!(rust.get(name), Some(layout), "struct {}: (size, align, field offsets) differ from C's", name);
    }
}
