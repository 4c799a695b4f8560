//! Golden tests: source → syntax tree dump, and source → compile error with
//! its caret line. The expected texts are pinned here; a change in parsing,
//! precedence or error reporting shows up as a diff.

use wiremap_kfl::{parse, Filter};

fn tree(src: &str) -> String {
    parse(src)
        .unwrap_or_else(|e| panic!("{src} does not parse:\n{e}"))
        .dump()
}

fn error(src: &str) -> String {
    match Filter::compile(src, 0) {
        Ok(_) => panic!("{src} compiled, expected an error"),
        Err(e) => e.to_string(),
    }
}

const TREES: &[(&str, &str)] = &[
    ("1 + 2 * 3", "(+ 1 (* 2 3))"),
    ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
    ("a || b && c", "(|| a (&& b c))"),
    ("a && b && c && d", "(&& (&& a b) (&& c d))"),
    ("!a == b", "(== (! a) b)"),
    ("-x.y", "(- (. x y))"),
    ("-1", "-1"),
    ("--1", "(- -1)"),
    ("-9223372036854775808", "-9223372036854775808"),
    ("1u + 0x1F + 1.5e3", "(+ (+ 1u 31) 1500.0)"),
    ("a ? b : c ? d : e", "(?: a b (?: c d e))"),
    ("x in [1, 2,]", "(in x [1 2])"),
    ("{'a': 1, 2: b}", "{\"a\":1 2:b}"),
    ("src.pod.name", "(. (. src pod) name)"),
    (
        "request.headers[\"content-type\"]",
        "([] (. request headers) \"content-type\")",
    ),
    (
        "s.startsWith('/api')",
        "(call startsWith target=s \"/api\")",
    ),
    ("size(l) > 0", "(> (call size l) 0)"),
    ("l.exists(x, x > 1)", "(call exists target=l x (> x 1))"),
    ("has(m.k)", "(call has (. m k))"),
    (
        "r'\\d+' + \"\\n\" + '''a\"b'''",
        "(+ (+ \"\\\\d+\" \"\\n\") \"a\\\"b\")",
    ),
    ("b'\\xff\\000'", "b\"\\xff\\x00\""),
    ("a < b == c >= d", "(>= (== (< a b) c) d)"),
    ("m.`content-type`", "(. m content-type)"),
    (".x", ".x"),
    ("// comment\n a // trailing", "a"),
];

#[test]
fn parse_trees() {
    let mut diffs = Vec::new();
    for (src, want) in TREES {
        let got = tree(src);
        if got != *want {
            diffs.push(format!("{src:?}\n  want {want}\n  got  {got}"));
        }
    }
    assert!(diffs.is_empty(), "tree mismatches:\n{}", diffs.join("\n"));
}

const ERRORS: &[(&str, &str)] = &[
    (
        "status_code == \"200\"",
        "cannot compare int with string (`==`)\n  status_code == \"200\"\n  ^^^^^^^^^^^^^^^^^^^^",
    ),
    (
        "http && src.pod.nmae == \"x\"",
        "unknown variable `src.pod.nmae` (did you mean `src.pod.name`?)\n  http && src.pod.nmae == \"x\"\n          ^^^^^^^^^^^^",
    ),
    (
        "stauts_code >= 400",
        "unknown variable `stauts_code` (did you mean `status_code`?)\n  stauts_code >= 400\n  ^^^^^^^^^^^",
    ),
    (
        "status_code + 1",
        "a filter must be a boolean expression, this one is int\n  status_code + 1\n  ^^^^^^^^^^^^^^^",
    ),
    ("http &&", "unexpected end of input\n  http &&\n         ^"),
    ("(http", "expected `)`, found end of input\n  (http\n       ^"),
    (
        "http && method.startWith(\"G\")",
        "unknown function `startWith` (did you mean `startsWith`?)\n  http && method.startWith(\"G\")\n          ^^^^^^^^^^^^^^^^^^^^^",
    ),
    (
        "url.matches(\"(\")",
        "invalid regular expression: error: unclosed group\n  url.matches(\"(\")\n              ^^^",
    ),
    ("\"abc", "unterminated string\n  \"abc\n  ^^^^"),
    (
        "dns &&\n  dns_questions.size() > \"1\"",
        "cannot compare int with string (`>`)\n    dns_questions.size() > \"1\"\n    ^^^^^^^^^^^^^^^^^^^^^^^^^^",
    ),
    ("9223372036854775808 > 0", "integer literal out of range\n  9223372036854775808 > 0\n  ^^^^^^^^^^^^^^^^^^^"),
    ("http && !", "unexpected end of input\n  http && !\n           ^"),
    ("if == 1", "`if` is a reserved word\n  if == 1\n  ^^"),
    ("http @ dns", "unexpected character '@'\n  http @ dns\n       ^"),
    ("Foo{a: 1}", "message construction is not supported\n  Foo{a: 1}\n  ^^^^"),
    (
        "\"x\" in status_code",
        "`in` needs a list or map on the right, of string elements; found int\n  \"x\" in status_code\n  ^^^^^^^^^^^^^^^^^^",
    ),
];

#[test]
fn compile_errors_with_carets() {
    let mut diffs = Vec::new();
    for (src, want) in ERRORS {
        let got = error(src);
        if got != *want {
            diffs.push(format!("{src:?}\n--- want\n{want}\n--- got\n{got}"));
        }
    }
    assert!(diffs.is_empty(), "error mismatches:\n{}", diffs.join("\n"));
}

#[test]
fn error_fields() {
    let e = Filter::compile("http && src.pod.nmae == \"x\"", 0).expect_err("misspelled");
    assert_eq!(e.span, 8..20);
    assert_eq!(e.suggestion.as_deref(), Some("src.pod.name"));
    let e = Filter::compile("totally_unrelated_name", 0).expect_err("unknown");
    assert_eq!(e.suggestion, None);
}

#[test]
fn bounds_are_compile_errors() {
    let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    assert!(Filter::compile(&format!("{deep} == 1"), 0)
        .unwrap_err()
        .message
        .contains("nested too deeply"));
    let long_chain = vec!["1"; 300].join(" + ");
    assert!(Filter::compile(&format!("{long_chain} == 1"), 0)
        .unwrap_err()
        .message
        .contains("nested too deeply"));
    let many_ors = vec!["http"; 2000].join(" || ");
    assert!(
        Filter::compile(&many_ors, 0).is_ok(),
        "long ||-chains are balanced, not deep"
    );
    let huge = "a".repeat(100_000);
    assert!(Filter::compile(&huge, 0)
        .unwrap_err()
        .message
        .contains("too long"));
    let nots = format!("{}http", "!".repeat(1000));
    assert!(Filter::compile(&nots, 0).is_err());
}
