//! The hand-written declarations against the header they were written from:
//! every `SYNAP_API` function and every numeric `#define SYNAP_*` of
//! capi/include/synap/synap.h must be declared in src/lib.rs (with the same
//! value), and nothing else. Skipped when the crate is built outside the
//! Synap repository.

use std::collections::BTreeMap;
use std::path::PathBuf;

const RUST_SOURCE: &str = include_str!("../src/lib.rs");

fn header() -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../capi/include/synap/synap.h");
    std::fs::read_to_string(path).ok()
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

/// `typedef struct NAME { fields };` of the header: (NAME, field names in order).
fn header_structs(h: &str) -> Vec<(String, Vec<String>)> {
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
                let field = decl.split_whitespace().last().unwrap().trim_start_matches('*');
                fields.push(field.to_string());
            }
        }
        out.push((name, fields));
    }
    out
}

/// The field names, in order, of `pub struct NAME { .. }` in src/lib.rs.
fn rust_struct_fields(name: &str) -> Option<Vec<String>> {
    let start = RUST_SOURCE.find(&format!("pub struct {} {{", name))?;
    let body = &RUST_SOURCE[start..];
    let body = &body[body.find('{')? + 1..body.find("\n}")?];
    Some(
        body.lines()
            .map(|l| l.trim())
            .filter_map(|l| l.strip_prefix("pub "))
            .map(|l| l.split(':').next().unwrap().trim().to_string())
            .collect(),
    )
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
    assert!(structs.len() >= 2, "parsed only {} structs from synap.h", structs.len());
    for (name, fields) in &structs {
        let rust = rust_struct_fields(name)
            .unwrap_or_else(|| panic!("synap.h defines struct {} but synap-sys does not", name));
        assert_eq!(&rust, fields, "struct {}: synap-sys's fields differ from synap.h's", name);
        assert!(
            RUST_SOURCE.contains(&format!("#[repr(C)]\n#[derive(Debug, Clone, Copy)]\npub struct {} {{", name)),
            "struct {} must be #[repr(C)]",
            name
        );
    }
    for ty in ["synap_progress_fn", "synap_key_fn", "synap_acked_fn", "synap_ticket"] {
        assert!(h.contains(ty) && RUST_SOURCE.contains(&format!("pub type {} =", ty)), "{}", ty);
    }
}
