//! Hostile filters end quickly with an error: copying, scanning and regex
//! compilation inside nested comprehensions all draw on one bounded work
//! budget per evaluation (`MAX_ITERATIONS` steps).

mod common;

use wiremap_kfl::{EvalError, Program};

fn eval_err(src: &str) -> EvalError {
    let prog = Program::compile(src, 0, &[]).unwrap_or_else(|e| panic!("{src}: {e}"));
    let entry = common::zero();
    match prog.eval(&entry.view(), &[]) {
        Ok(v) => panic!("expected the work budget to run out, got {v}"),
        Err(e) => e,
    }
}

const TEN: &str = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]";

fn nest(body: &str) -> String {
    format!("{TEN}.all(i, {TEN}.all(j, {TEN}.all(k, {TEN}.all(q, {body}))))")
}

#[test]
fn doubling_strings_in_nested_loops_runs_out_of_budget() {
    let big = "a".repeat(8000);
    let body = format!(
        "['{big}'].map(a, a + a).map(b, b + b).map(c, c + c).map(d, d + d)\
         .map(e, e + e).map(f, f + f).map(g, g + g)[0].size() > 0"
    );
    assert_eq!(
        eval_err(&nest(&body)),
        EvalError::TooLarge("evaluation work")
    );
}

#[test]
fn regex_compiled_per_iteration_runs_out_of_budget() {
    let body = "!'aaa'.matches(string(i) + '(a|b)*c{1,50}')";
    assert_eq!(
        eval_err(&nest(body)),
        EvalError::TooLarge("evaluation work")
    );
}

#[test]
fn ordinary_comprehensions_stay_within_budget() {
    let prog = Program::compile(&format!("{TEN}.all(i, {TEN}.exists(j, i == j))"), 0, &[])
        .expect("compiles");
    let entry = common::zero();
    assert_eq!(
        prog.eval(&entry.view(), &[]).map(|v| v.to_literal()),
        Ok("true".to_string())
    );
}
