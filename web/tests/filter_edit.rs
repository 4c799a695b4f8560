//! The filter bar's logic against the real KFL2 engine and schema.

use wasm_bindgen_test::*;
use wiremap_web::filter_edit::{
    append_clause, apply_completion, byte_to_utf16, check, complete, quote, utf16_to_byte, word_at,
    Check, History, HISTORY_CAP,
};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn check_reports_caret_under_the_error() {
    assert_eq!(check("   ", 0), Check::Empty);
    assert_eq!(check("http && status_code == 200", 0), Check::Valid);
    match check("http && statuscode == 200", 0) {
        Check::Invalid {
            message,
            line,
            carets,
        } => {
            assert_eq!(line, "http && statuscode == 200");
            let col = carets.find('^').expect("a caret");
            assert_eq!(&line[col..col + carets.trim().len()], "statuscode");
            assert!(
                message.contains("status_code"),
                "suggests the fix: {message}"
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[wasm_bindgen_test]
fn completion_replaces_the_word_under_the_cursor() {
    let text = "http && status_c";
    assert_eq!(word_at(text, text.len()), (8, "status_c"));
    let names: Vec<&str> = complete("status_c").iter().map(|v| v.name).collect();
    assert_eq!(names.first(), Some(&"status_code"));
    let (t, c) = apply_completion(text, text.len(), "status_code");
    assert_eq!(t, "http && status_code");
    assert_eq!(c, t.len());
    // Mid-text completion keeps the tail.
    let (t, c) = apply_completion("src.na == \"x\"", 6, "src.name");
    assert_eq!(t, "src.name == \"x\"");
    assert_eq!(c, 8);
    assert!(complete("").is_empty());
    // Prefix matches come before substring matches.
    let dns: Vec<&str> = complete("dns").iter().map(|v| v.name).collect();
    assert!(
        dns.iter().take_while(|n| n.starts_with("dns")).count() >= 3,
        "{dns:?}"
    );
}

#[wasm_bindgen_test]
fn cursor_conversions_handle_non_ascii() {
    let t = "dst.name == \"é😀\" && x";
    let b = t.find("&&").expect("&&");
    assert_eq!(utf16_to_byte(t, byte_to_utf16(t, b)), b);
    assert_eq!(utf16_to_byte(t, 10_000), t.len());
    assert_eq!(word_at("é", 1), (0, ""));
}

#[wasm_bindgen_test]
fn click_to_add_builds_valid_filters() {
    let f = append_clause("", &format!("src.name == {}", quote("a\"b")));
    assert_eq!(check(&f, 0), Check::Valid, "{f}");
    let f = append_clause("http || dns", "dst.name == \"x\"");
    assert_eq!(f, "(http || dns) && dst.name == \"x\"");
    assert_eq!(check(&f, 0), Check::Valid);
}

#[wasm_bindgen_test]
fn history_is_bounded_newest_first_without_repeats() {
    let mut h = History::default();
    for i in 0..(HISTORY_CAP + 10) {
        h.push(&format!("id == {i}"));
    }
    h.push("id == 55");
    h.push("  ");
    assert_eq!(h.len(), HISTORY_CAP);
    assert_eq!(h.get(0), Some("id == 55"));
    assert_eq!(h.items().filter(|x| *x == "id == 55").count(), 1);
}
