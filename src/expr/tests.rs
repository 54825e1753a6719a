//! Data-driven tests of the expression evaluator: every expression kind, every built-in
//! function, unknown and sensitive propagation, references, and error messages and spans.

use std::ops::Range;

use serde_json::json;

use super::*;

const SECRET: &str = "s3cr3t-pw";

/// The variables every test sees.
fn scope() -> Scope {
    Scope::new()
        .with(
            "param",
            j(json!({
                "name": "world", "key": "k", "list": [1, 2, 3], "database": "db", "n": 5,
                "users": [{"name": "a", "age": 30}, {"name": "b", "age": 40}],
                "obj": {"k": "v"}, "empty": "", "nothing": null, "flag": true,
                "words": ["b", "a", "c"], "nested": [[1, 2], [3]]
            })),
        )
        .with(
            "random_password",
            Value::Map(crate::value::Map::from([(
                "db".to_string(),
                Value::Map(crate::value::Map::from([
                    (
                        "result".to_string(),
                        Value::sensitive(Value::string(SECRET)),
                    ),
                    ("id".to_string(), Value::Unknown),
                ])),
            )])),
        )
        .with("postgres_role", j(json!({"owner": {"name": "owner"}})))
        .with(
            "secrets",
            Value::sensitive(j(json!({"user": "admin", "pw": SECRET}))),
        )
        .with("secret_list", Value::sensitive(j(json!([SECRET, "other"]))))
        .with("pending", Value::Unknown)
}

fn j(v: serde_json::Value) -> Value {
    Value::from_json(&v)
}

fn s(v: &str) -> Value {
    Value::string(v)
}

fn sens(v: Value) -> Value {
    Value::sensitive(v)
}

fn parse(src: &str) -> hcl_edit::expr::Expression {
    match hcl_edit::parser::parse_expr(src) {
        Ok(e) => e,
        Err(e) => panic!("parse {src:?}: {e}"),
    }
}

fn run(src: &str) -> Result<Value, EvalError> {
    eval(&parse(src), &scope())
}

/// Asserts `src` evaluates to `expected`.
fn check(src: &str, expected: Value) {
    match run(src) {
        Ok(v) => assert_eq!(v.reveal_debug(), expected.reveal_debug(), "{src}"),
        Err(e) => panic!("{src}: unexpected error: {e}"),
    }
}

/// Asserts `src` fails with a message containing `expected`; returns the error.
fn check_err(src: &str, expected: &str) -> EvalError {
    match run(src) {
        Ok(v) => panic!("{src}: expected an error, got {}", v.reveal_debug()),
        Err(e) => {
            assert!(
                e.message.contains(expected),
                "{src}: {:?} lacks {expected:?}",
                e.message
            );
            e
        }
    }
}

/// The source text an error points at.
fn at(src: &str, span: Option<Range<usize>>) -> &str {
    span.and_then(|s| src.get(s)).unwrap_or("<none>")
}

impl Value {
    /// A test-only rendering that shows marks and reveals secrets, so that
    /// `assert_eq!` compares marks and content.
    fn reveal_debug(&self) -> String {
        match self {
            Value::Sensitive(v) => format!("sensitive({})", v.reveal_debug()),
            Value::Unknown => "unknown".into(),
            Value::List(items) => {
                let inner: Vec<String> = items.iter().map(Value::reveal_debug).collect();
                format!("[{}]", inner.join(", "))
            }
            Value::Map(m) => {
                let inner: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{k:?}: {}", v.reveal_debug()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
            other => other.to_string(),
        }
    }
}

#[test]
fn literals_and_collections() {
    check("null", Value::Null);
    check("true", Value::Bool(true));
    check("42", Value::int(42));
    check("1.5", j(json!(1.5)));
    check("2.0", Value::int(2));
    check("1e3", Value::int(1000));
    check("\"hi\"", s("hi"));
    check("[1, \"a\", [true]]", j(json!([1, "a", [true]])));
    check(
        "{a = 1, \"b\" = 2, (param.key) = 3}",
        j(json!({"a": 1, "b": 2, "k": 3})),
    );
    check("{}", j(json!({})));
    check("(1)", Value::int(1));
}

#[test]
fn operators() {
    let cases = [
        ("1 + 2", json!(3)),
        ("7 / 2", json!(3.5)),
        ("6 / 3", json!(2)),
        ("7 % 3", json!(1)),
        ("2 * 3.5", json!(7)),
        ("0.1 + 0.2", json!(0.30000000000000004)),
        ("-param.n", json!(-5)),
        ("!true", json!(false)),
        ("1 < 2", json!(true)),
        ("2 <= 2", json!(true)),
        ("3 > 4", json!(false)),
        ("2 >= 2.5", json!(false)),
        ("\"5\" + 1", json!(6)),
        ("1 == 1.0", json!(true)),
        ("1 == \"1\"", json!(false)),
        ("[1, {a = 2}] == [1, {a = 2}]", json!(true)),
        ("{a = [1]} != {a = [2]}", json!(true)),
        ("null == null", json!(true)),
        ("param.nothing == null", json!(true)),
        ("true && false", json!(false)),
        ("false || true", json!(true)),
        ("(1 + 2) * 3", json!(9)),
        ("1 + 2 * 3", json!(7)),
        ("9223372036854775807 + 1", json!(9223372036854775808.0_f64)),
        ("false && nope.x", json!(false)),
        ("true || nope.x", json!(true)),
    ];
    for (src, want) in cases {
        check(src, j(want));
    }
    check_err("1 / 0", "division by zero");
    check_err("1 % 0", "modulo by zero");
    check_err("\"a\" + 1", "cannot convert \"a\" to a number");
    check_err("[1] + 1", "expected a number, found list");
    check_err("!1", "expected a bool, found number");
    check_err("1 && true", "expected a bool, found number");
}

#[test]
fn conditionals() {
    check("true ? 1 : 2", Value::int(1));
    check("param.n > 3 ? \"big\" : \"small\"", s("big"));
    check("\"false\" ? 1 : 2", Value::int(2));
    check("false ? nope : 2", Value::int(2));
    check_err("1 ? 1 : 2", "condition: expected a bool, found number");
}

#[test]
fn traversals() {
    check("param.name", s("world"));
    check("param.list[1]", Value::int(2));
    check("param.list[\"1\"]", Value::int(2));
    check("param.list.0", Value::int(1));
    check("param.obj[\"k\"]", s("v"));
    check("param.obj[param.key]", s("v"));
    check("param.users[1].name", s("b"));
    check("param.users[*].name", j(json!(["a", "b"])));
    check("param.users.*.name", j(json!(["a", "b"])));
    check_err(
        "param.users[*].name[0]",
        "`param.users[*].name` cannot be indexed",
    );
    check("param.users.*.name[0]", s("a"));
    check("param.nested[*][0]", j(json!([1, 3])));
    check("param.obj[*].k", j(json!(["v"])));
    check("param.nothing[*]", j(json!([])));
    check("{a = {b = 1}}.a.b", Value::int(1));
    check("[[1, 2]][0][1]", Value::int(2));
}

#[test]
fn traversal_errors() {
    let e = check_err("param.nmae", "`param` has no attribute `nmae`");
    assert_eq!(e.help.as_deref(), Some("did you mean `name`?"));
    assert_eq!(at("param.nmae", e.span), ".nmae");
    let e = check_err("parm.name", "unknown variable `parm`");
    assert_eq!(e.help.as_deref(), Some("did you mean `param`?"));
    assert_eq!(at("parm.name", e.span), "parm");
    check_err(
        "param.users.name",
        "`param.users` is a list, which has no attribute `name`",
    );
    check_err(
        "param.name.x",
        "`param.name` is a string, which has no attributes",
    );
    check_err("param.nothing.x", "`param.nothing` is null");
    let src = "param.list[5]";
    let e = check_err(
        src,
        "index 5 is out of range for `param.list`, which has 3 elements",
    );
    assert_eq!(at(src, e.span), "5");
    check_err("param.list[-1]", "out of range");
    check_err("param.list[1.5]", "whole number");
    let e = check_err("param.obj[\"xyz\"]", "`param.obj` has no key \"xyz\"");
    assert!(e.help.is_none());
    let e = check_err("param.users[0][\"nmae\"]", "has no key \"nmae\"");
    assert_eq!(e.help.as_deref(), Some("did you mean `name`?"));
    check_err("param.name[0]", "cannot be indexed");
    check_err(
        "param.users[0].nme",
        "`param.users[0]` has no attribute `nme`",
    );
}

#[test]
fn templates() {
    check("\"hello ${param.name}!\"", s("hello world!"));
    check("\"n=${param.n} ${true}\"", s("n=5 true"));
    check("\"${param.list}\"", j(json!([1, 2, 3])));
    check("\"a$${b}\"", s("a${b}"));
    check("\"%{if param.flag}yes%{else}no%{endif}\"", s("yes"));
    check("\"%{if !param.flag}yes%{endif}.\"", s("."));
    check("\"%{for x in param.list}${x},%{endfor}\"", s("1,2,3,"));
    check("\"%{for k, v in param.obj}${k}=${v}%{endfor}\"", s("k=v"));
    check(
        "\"%{for i, x in param.words}${i}${x} %{endfor}\"",
        s("0b 1a 2c "),
    );
    check("\"a ${~ \"b\" ~} c\"", s("abc"));
    check("<<EOT\nhello ${param.name}\nEOT", s("hello world\n"));
    check("<<-EOT\n    a\n      b\n    EOT", s("a\n  b\n"));
    let heredoc = "<<EOT\n%{ for x in param.list ~}\n- ${x}\n%{ endfor ~}\nend\nEOT";
    check(heredoc, s("- 1\n- 2\n- 3\nend\n"));
    let heredoc = "<<EOT\nstart\n%{~ if true ~}\n  yes\n%{~ endif ~}\n\nend\nEOT";
    check(heredoc, s("startyesend\n"));
    let e = check_err("\"x${param.nothing}\"", "cannot interpolate null");
    assert_eq!(at("\"x${param.nothing}\"", e.span), "param.nothing");
    check_err("\"x${param.list}\"", "cannot interpolate a list");
    check_err("\"%{if 1}a%{endif}\"", "`if` condition");
    check_err(
        "\"%{for x in 1}a%{endfor}\"",
        "iterates over a list or map, found number",
    );
}

#[test]
fn for_expressions() {
    check("[for x in [1, 2, 3] : x * 2 if x > 1]", j(json!([4, 6])));
    check("[for i, x in [\"a\", \"b\"] : i]", j(json!([0, 1])));
    check(
        "[for k, v in {a = 1, b = 2} : \"${k}${v}\"]",
        j(json!(["a1", "b2"])),
    );
    check(
        "{for k, v in {a = 1, b = 2} : v => k}",
        j(json!({"1": "a", "2": "b"})),
    );
    check(
        "{for x in [\"a\", \"b\", \"a\"] : x => x...}",
        j(json!({"a": ["a", "a"], "b": ["b"]})),
    );
    check(
        "{for u in param.users : u.name => u.age}",
        j(json!({"a": 30, "b": 40})),
    );
    check(
        "[for x in [[1], [2]] : [for y in x : y + param.n]]",
        j(json!([[6], [7]])),
    );
    let e = check_err("{for x in [\"a\", \"a\"] : x => 1}", "duplicate key `a`");
    assert!(e.help.is_some_and(|h| h.contains("...")));
    check_err(
        "[for x in 1 : x]",
        "iterates over a list or map, found number",
    );
    check_err(
        "[for x in [1] : x if x]",
        "`for` condition: expected a bool",
    );
    check_err(
        "{for x in [[1]] : x => 1}",
        "`for` key: expected a string, found list",
    );
    check_err("[for x in [1] : y]", "unknown variable `y`");
}

#[test]
fn function_calls() {
    check("max([1, 5, 3]...)", Value::int(5));
    check("concat([[1], [2, 3]]...)", j(json!([1, 2, 3])));
    let e = check_err("lowr(\"A\")", "unknown function `lowr`");
    assert_eq!(e.help.as_deref(), Some("did you mean `lower`?"));
    assert_eq!(at("lowr(\"A\")", e.span), "lowr");
    let src = "lower(\"a\", \"b\")";
    let e = check_err(src, "`lower` takes exactly 1 argument, but 2 were given");
    assert_eq!(at(src, e.span), src);
    check_err(
        "join()",
        "`join` takes at least 2 arguments, but 0 were given",
    );
    check_err(
        "lookup({})",
        "`lookup` takes 2 to 3 arguments, but 1 was given",
    );
    let src = "upper([1])";
    let e = check_err(
        src,
        "invalid argument 1 to `upper`: expected a string, found list",
    );
    assert_eq!(at(src, e.span), "[1]");
    check_err("max(1...)", "`...` expands a list, found number");
    check_err("provider::x::f(1)", "unknown function `provider::x::f`");
}

#[test]
fn try_and_can() {
    check("try(param.missing, \"d\")", s("d"));
    check("try(param.name, \"d\")", s("world"));
    check("try(param.list[9], param.list[0])", Value::int(1));
    check("can(param.missing)", Value::Bool(false));
    check("can(param.name)", Value::Bool(true));
    check(
        "[for u in param.users : try(u.nick, u.name)]",
        j(json!(["a", "b"])),
    );
    check("try(random_password.db.id, \"d\")", Value::Unknown);
    check("can(random_password.db.result)", sens(Value::Bool(true)));
    check_err("try(nope.x, 1)", "unknown variable `nope`");
    check_err("can(nosuch(1))", "unknown function `nosuch`");
    check_err(
        "try(param.a, param.b)",
        "`try`: no argument succeeded; the last failed with: `param` has no attribute `b`",
    );
}

/// Each function, data-driven: (expression, expected JSON).
#[test]
fn functions_table() {
    let cases: &[(&str, serde_json::Value)] = &[
        ("abs(-3)", json!(3)),
        ("abs(2.5)", json!(2.5)),
        ("alltrue([true, \"true\"])", json!(true)),
        ("alltrue([])", json!(true)),
        ("anytrue([false, true])", json!(true)),
        ("base64decode(\"aGVsbG8=\")", json!("hello")),
        ("base64encode(\"hello\")", json!("aGVsbG8=")),
        (
            "base64sha256(\"hello\")",
            json!("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="),
        ),
        ("ceil(1.2)", json!(2)),
        ("chomp(\"a\\n\\n\")", json!("a")),
        ("coalesce(null, \"\", \"a\", \"b\")", json!("a")),
        ("coalesce(1, 2)", json!(1)),
        ("coalescelist([], [1], [2])", json!([1])),
        ("compact([\"a\", \"\", null, \"b\"])", json!(["a", "b"])),
        ("concat([1], [], [2, 3])", json!([1, 2, 3])),
        ("concat()", json!([])),
        ("contains([\"a\", \"b\"], \"b\")", json!(true)),
        ("contains([1, 2], 3)", json!(false)),
        ("distinct([1, 2, 1, 3, 2])", json!([1, 2, 3])),
        ("element([\"a\", \"b\"], 3)", json!("b")),
        ("endswith(\"hello\", \"lo\")", json!(true)),
        ("flatten([[1, [2]], [], 3])", json!([1, 2, 3])),
        ("floor(-1.5)", json!(-2)),
        ("format(\"%s-%d\", \"a\", 5)", json!("a-5")),
        (
            "format(\"%05d|%-4s|%4s|\", 42, \"ab\", \"cd\")",
            json!("00042|ab  |  cd|"),
        ),
        (
            "format(\"%q %v %v %%\", \"a\\\"b\", [1, \"x\"], true)",
            json!("\"a\\\"b\" [1,\"x\"] true %"),
        ),
        (
            "format(\"%.2f %e %g %g\", 3.14159, 1234.5, 0.5, 1e21)",
            json!("3.14 1.234500e+03 0.5 1e+21"),
        ),
        (
            "format(\"%x %X %o %b %+d %t\", 255, 255, 8, 5, 3, true)",
            json!("ff FF 10 101 +3 true"),
        ),
        ("format(\"%[2]s %[1]s\", \"a\", \"b\")", json!("b a")),
        (
            "format(\"%#v %.3s\", \"a\", \"abcdef\")",
            json!("\"a\" abc"),
        ),
        ("format(\"%d\", \"12\")", json!("12")),
        (
            "formatlist(\"%s=%d\", [\"a\", \"b\"], [1, 2])",
            json!(["a=1", "b=2"]),
        ),
        (
            "formatlist(\"%s-%s\", \"x\", [\"a\", \"b\"])",
            json!(["x-a", "x-b"]),
        ),
        ("index([\"a\", \"b\"], \"b\")", json!(1)),
        ("indent(2, \"a\\nb\")", json!("a\n  b")),
        ("join(\", \", [\"a\", \"b\"], [1])", json!("a, b, 1")),
        ("join(\",\", [])", json!("")),
        (
            "jsondecode(\"{\\\"a\\\": [1, 2.0, 2.5, null, true]}\")",
            json!({"a": [1, 2, 2.5, null, true]}),
        ),
        (
            "jsonencode({b = [1, \"<x>\"], a = null})",
            json!("{\"a\":null,\"b\":[1,\"\\u003cx\\u003e\"]}"),
        ),
        ("jsonencode(\"a&b\")", json!("\"a\\u0026b\"")),
        ("keys({b = 1, a = 2})", json!(["a", "b"])),
        ("length(\"héllo\")", json!(5)),
        ("length([1, 2])", json!(2)),
        ("length({a = 1})", json!(1)),
        ("lookup({a = 1}, \"a\")", json!(1)),
        ("lookup({a = 1}, \"b\", \"dflt\")", json!("dflt")),
        ("lower(\"ÀBC\")", json!("àbc")),
        ("max(1, 7.5, 3)", json!(7.5)),
        ("md5(\"hello\")", json!("5d41402abc4b2a76b9719d911017c592")),
        (
            "merge({a = 1, b = 1}, null, {b = 2})",
            json!({"a": 1, "b": 2}),
        ),
        ("merge()", json!({})),
        ("min(4, \"2\", 3)", json!(2)),
        ("one([])", json!(null)),
        ("one([1])", json!(1)),
        ("range(3)", json!([0, 1, 2])),
        ("range(1, 4)", json!([1, 2, 3])),
        ("range(0, 1, 0.25)", json!([0, 0.25, 0.5, 0.75])),
        ("range(3, 0)", json!([3, 2, 1])),
        ("regex(\"[a-z]+\", \"123abc456\")", json!("abc")),
        (
            "regex(\"(\\\\d+)-(\\\\d+)\", \"10-20\")",
            json!(["10", "20"]),
        ),
        (
            "regex(\"(?P<k>\\\\w+)=(?P<v>\\\\w+)\", \"a=b\")",
            json!({"k": "a", "v": "b"}),
        ),
        ("regexall(\"\\\\d\", \"a1b2\")", json!(["1", "2"])),
        ("replace(\"a-b-c\", \"-\", \"+\")", json!("a+b+c")),
        ("replace(\"a1b22\", \"/\\\\d+/\", \"#\")", json!("a#b#")),
        (
            "replace(\"hello world\", \"/(\\\\w+) (\\\\w+)/\", \"$2 $1\")",
            json!("world hello"),
        ),
        ("reverse([1, 2, 3])", json!([3, 2, 1])),
        (
            "sha1(\"hello\")",
            json!("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"),
        ),
        (
            "sha256(\"hello\")",
            json!("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
        ),
        (
            "sha512(\"\")",
            json!(
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
            ),
        ),
        ("slice([1, 2, 3, 4], 1, 3)", json!([2, 3])),
        ("sort([\"b\", \"c\", \"a\"])", json!(["a", "b", "c"])),
        ("split(\",\", \"a,b,,c\")", json!(["a", "b", "", "c"])),
        ("split(\",\", \"\")", json!([""])),
        ("startswith(\"hello\", \"he\")", json!(true)),
        ("strrev(\"abc\")", json!("cba")),
        ("substr(\"hello world\", 6, 5)", json!("world")),
        ("substr(\"héllo\", 1, -1)", json!("éllo")),
        ("substr(\"hello\", -3, 2)", json!("ll")),
        ("substr(\"hello\", 2, 99)", json!("llo")),
        ("sum([1, 2.5, \"3\"])", json!(6.5)),
        ("title(\"hello big-world\")", json!("Hello Big-World")),
        ("tobool(\"true\")", json!(true)),
        ("tobool(null)", json!(null)),
        ("tolist([1])", json!([1])),
        ("tomap({a = 1})", json!({"a": 1})),
        ("tonumber(\"3.5\")", json!(3.5)),
        ("tonumber(7)", json!(7)),
        ("toset([\"b\", \"a\", \"b\"])", json!(["a", "b"])),
        ("tostring(12)", json!("12")),
        ("tostring(true)", json!("true")),
        ("tostring(null)", json!(null)),
        ("trim(\"?!hello?!\", \"!?\")", json!("hello")),
        ("trimprefix(\"helloworld\", \"hello\")", json!("world")),
        ("trimprefix(\"hello\", \"x\")", json!("hello")),
        ("trimspace(\"  hi \\n\")", json!("hi")),
        ("trimsuffix(\"helloworld\", \"world\")", json!("hello")),
        ("upper(\"abc\")", json!("ABC")),
        ("values({b = 1, a = 2})", json!([2, 1])),
        ("zipmap([\"a\", \"b\"], [1, 2])", json!({"a": 1, "b": 2})),
    ];
    for (src, want) in cases {
        check(src, j(want.clone()));
    }
}

#[test]
fn function_errors() {
    let cases = [
        ("base64decode(\"!!\")", "not valid base64"),
        (
            "coalesce(null, \"\")",
            "no argument is non-null and non-empty",
        ),
        ("element([], 0)", "empty list"),
        ("element([1], -1)", "must not be negative"),
        ("format(\"%d\")", "not enough arguments"),
        ("format(\"%d\", 1.5)", "expected a whole number"),
        ("format(\"%s\", 1, 2)", "too many arguments"),
        ("format(\"%s\", [1])", "expected a string, found list"),
        ("format(\"%z\", 1)", "unsupported verb `%z`"),
        ("formatlist(\"%s%s\", [1], [1, 2])", "earlier list"),
        ("index([1], 2)", "2 is not in the list"),
        ("jsondecode(\"{\")", "invalid JSON"),
        ("length(1)", "expected a string, list or map, found number"),
        ("lookup({a = 1}, \"b\")", "the map has no key \"b\""),
        ("lower(null)", "expected a string, found null"),
        (
            "merge({}, [1])",
            "invalid argument 2 to `merge`: expected a map, found list",
        ),
        ("one([1, 2])", "at most one element"),
        ("range(0, 1, 0)", "must not be zero"),
        ("range(5000)", "more than 1024 elements"),
        ("regex(\"x\", \"abc\")", "did not match"),
        ("regex(\"(\", \"abc\")", "invalid regular expression"),
        ("slice([1], 0, 2)", "out of range"),
        ("substr(\"abc\", 5, 1)", "offset is outside the string"),
        ("tonumber(\"abc\")", "cannot convert \"abc\" to a number"),
        ("tobool(\"yes\")", "cannot convert \"yes\" to a bool"),
        ("tostring([1])", "cannot convert a list to a string"),
        ("zipmap([\"a\"], [])", "same length"),
        ("sort([1, null])", "null element"),
    ];
    for (src, want) in cases {
        check_err(src, want);
    }
}

#[test]
fn unknowns_propagate() {
    let u = Value::Unknown;
    check("random_password.db.id", u.clone());
    check("pending.anything[0]", u.clone());
    check("pending[*].x", u.clone());
    check("\"x-${random_password.db.id}\"", u.clone());
    check("upper(random_password.db.id)", u.clone());
    check("random_password.db.id == \"a\"", u.clone());
    check("random_password.db.id + 1", u.clone());
    check("-pending", u.clone());
    check("true ? 1 : pending", Value::int(1));
    check("pending ? 1 : 2", u.clone());
    check("coalesce(\"a\", pending)", s("a"));
    check("coalesce(null, pending, \"a\")", u.clone());
    check("length([pending, 1])", Value::int(2));
    check(
        "concat([pending], [1])",
        Value::List(vec![u.clone(), Value::int(1)]),
    );
    check("jsonencode([pending])", u.clone());
    check("[for x in pending : x]", u.clone());
    check("[for x in [1, 2] : x if pending]", u.clone());
    check("{for x in [1] : pending => x}", u.clone());
    check("false && pending", Value::Bool(false));
    check("pending && false", Value::Bool(false));
    check("true && pending", u.clone());
    check("pending || true", Value::Bool(true));
    check("max(pending...)", u.clone());
    check("param.list[pending]", u.clone());
    check("{(pending) = 1}", u.clone());
    check("\"%{if pending}a%{endif}\"", u.clone());
    check("\"%{for x in pending}a%{endfor}\"", u.clone());
    check("can(pending)", u.clone());
    check("flatten([[1], pending])", u.clone());
    check("keys({a = pending})", j(json!(["a"])));
}

#[test]
fn sensitive_values_propagate() {
    let secret = || sens(s(SECRET));
    check("random_password.db.result", secret());
    check("upper(random_password.db.result)", sens(s("S3CR3T-PW")));
    check(
        "\"pw=${random_password.db.result}\"",
        sens(s("pw=s3cr3t-pw")),
    );
    check("secrets.user", sens(s("admin")));
    check("secrets[\"pw\"]", secret());
    check("secret_list[1]", sens(s("other")));
    check(
        "secret_list[*]",
        sens(Value::List(vec![secret(), sens(s("other"))])),
    );
    check(
        "random_password.db.result == \"x\"",
        sens(Value::Bool(false)),
    );
    check("length(random_password.db.result)", sens(Value::int(9)));
    check(
        "jsonencode({pw = random_password.db.result})",
        sens(s("{\"pw\":\"s3cr3t-pw\"}")),
    );
    check(
        "sha256(random_password.db.result) != \"\"",
        sens(Value::Bool(true)),
    );
    check(
        "random_password.db.result != null ? 1 : 2",
        sens(Value::int(1)),
    );
    check(
        "merge({a = 1}, {b = random_password.db.result})",
        Value::Map(crate::value::Map::from([
            ("a".into(), Value::int(1)),
            ("b".into(), secret()),
        ])),
    );
    check(
        "concat([1], [random_password.db.result])",
        Value::List(vec![Value::int(1), secret()]),
    );
    check(
        "lookup({a = random_password.db.result, b = 1}, \"b\")",
        Value::int(1),
    );
    check(
        "flatten([secret_list])",
        Value::List(vec![secret(), sens(s("other"))]),
    );
    check(
        "[for x in secret_list : length(x)]",
        sens(Value::List(vec![sens(Value::int(9)), sens(Value::int(5))])),
    );
    check("coalesce(null, random_password.db.result)", secret());
    check("coalesce(\"a\", random_password.db.result)", sens(s("a")));
    check("try(secrets.nope, 1)", Value::int(1));
    check("keys(secrets)", sens(j(json!(["pw", "user"]))));
    check("tostring(random_password.db.result)", secret());
}

#[test]
fn secrets_never_appear_in_errors() {
    let cases = [
        "tonumber(random_password.db.result)",
        "tobool(random_password.db.result)",
        "random_password.db.result + 1",
        "-random_password.db.result",
        "!random_password.db.result",
        "random_password.db.result ? 1 : 2",
        "format(\"%d\", random_password.db.result)",
        "format(\"%t\", random_password.db.result)",
        "regex(\"${random_password.db.result}(\", \"x\")",
        "regex(\"^x\", random_password.db.result)",
        "secrets.nmae",
        "secrets.pw.x",
        "secret_list[10]",
        "{\"a\" = 1}[random_password.db.result]",
        "{(random_password.db.result) = 1, (\"s3cr3t-pw\") = 2}",
        "lookup({}, random_password.db.result)",
        "index([], random_password.db.result)",
        "jsondecode(random_password.db.result)",
        "base64decode(random_password.db.result)",
        "{for x in [secret_list[0], secret_list[0]] : x => 1}",
        "{for x in [1, 1] : random_password.db.result => x}",
        "element(secret_list, -1)",
        "param.list[random_password.db.result]",
        "substr(random_password.db.result, 100, 1)",
        "try(tonumber(random_password.db.result))",
        "\"%{if random_password.db.result}x%{endif}\"",
        "sum([random_password.db.result])",
        "max(random_password.db.result)",
    ];
    for src in cases {
        let e = run(src).expect_err(src);
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("s3cr3t"), "{src}: {shown}");
    }
}

#[test]
fn references_are_static_paths() {
    let paths = |src: &str| -> Vec<Vec<String>> {
        references(&parse(src))
            .into_iter()
            .map(|r| r.path)
            .collect()
    };
    let p = |parts: &[&str]| -> Vec<String> { parts.iter().map(|s| s.to_string()).collect() };
    assert_eq!(
        paths("postgres_role.owner.name"),
        vec![p(&["postgres_role", "owner", "name"])]
    );
    assert_eq!(paths("param.database"), vec![p(&["param", "database"])]);
    assert_eq!(
        paths("\"${param.database}-${score.x}\""),
        vec![p(&["param", "database"]), p(&["score", "x"])]
    );
    assert_eq!(
        paths("a.b[0].c[var.x].d"),
        vec![p(&["a", "b", "0", "c"]), p(&["var", "x"])]
    );
    assert_eq!(paths("a.b[\"k\"].0"), vec![p(&["a", "b", "k", "0"])]);
    assert_eq!(paths("a[*].id"), vec![p(&["a"])]);
    assert_eq!(paths("a.*.id"), vec![p(&["a"])]);
    assert_eq!(
        paths("[for x in list.items : x.name if x.ok && y]"),
        vec![p(&["list", "items"]), p(&["y"])]
    );
    assert_eq!(paths("{for k, v in m : k => v}"), vec![p(&["m"])]);
    assert_eq!(
        paths("\"%{for x in xs}${x}${z}%{endfor}\""),
        vec![p(&["xs"]), p(&["z"])]
    );
    assert_eq!(
        paths("f(a.b, c) ? {k = d} : -e"),
        vec![p(&["a", "b"]), p(&["c"]), p(&["d"]), p(&["e"])]
    );
    assert_eq!(paths("{(k.x) = 1}"), vec![p(&["k", "x"])]);
    assert_eq!(paths("(a).b"), vec![p(&["a"])]);
    assert!(paths("1 + 2").is_empty());

    let src = "x + postgres_role.owner.name[var.i]";
    let refs = references(&parse(src));
    assert_eq!(at(src, refs[0].span.clone()), "x");
    assert_eq!(at(src, refs[1].span.clone()), "postgres_role.owner.name");
    assert_eq!(at(src, refs[2].span.clone()), "var.i");
}

#[test]
fn error_spans_point_at_the_offending_part() {
    let cases = [
        ("1 + nope", "nope"),
        ("1 + \"a\"", "\"a\""),
        ("[\"a\", 1] == 1 ? 1 : 1 / 0", "1 / 0"),
        ("(1 ? 2 : 3)", "1"),
        ("lower(\"a\", param.list[7])", "7"),
        ("join(\",\", [1], {a = 1})", "{a = 1}"),
        ("param.users[0].nme", ".nme"),
        ("[for x in [1] : x if \"no\"]", "\"no\""),
        ("\"a${param.users}\"", "param.users"),
        ("max([1, \"x\"]...)", "[1, \"x\"]"),
    ];
    for (src, want) in cases {
        let e = run(src).expect_err(src);
        assert_eq!(at(src, e.span.clone()), want, "{src}: {e}");
    }
}

#[test]
fn call_and_names() {
    assert_eq!(call("upper", vec![s("a")]), Ok(s("A")));
    assert_eq!(call("try", vec![s("a")]), Ok(s("a")));
    assert_eq!(call("can", vec![s("a")]), Ok(Value::Bool(true)));
    assert_eq!(
        call("uppr", vec![s("a")]),
        Err("unknown function `uppr`; did you mean `upper`?".into())
    );
    assert_eq!(
        call("nosuch", vec![]),
        Err("unknown function `nosuch`".into())
    );
    let err = call("upper", vec![]).expect_err("arity");
    assert!(
        err.contains("takes exactly 1 argument, but 0 were given"),
        "{err}"
    );
    let names = function_names();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    for name in names {
        assert!(functions::lookup(name).is_some(), "{name}");
    }
    for required in [
        "coalesce",
        "lower",
        "upper",
        "format",
        "join",
        "replace",
        "substr",
        "sha256",
        "sha1",
        "md5",
        "base64encode",
        "base64decode",
        "jsonencode",
        "jsondecode",
        "merge",
        "lookup",
        "length",
        "concat",
        "contains",
        "keys",
        "values",
        "tostring",
        "tonumber",
        "tobool",
        "trimspace",
        "trim",
        "trimprefix",
        "trimsuffix",
        "split",
        "element",
        "min",
        "max",
        "abs",
        "ceil",
        "floor",
        "title",
        "startswith",
        "endswith",
        "flatten",
        "distinct",
        "compact",
        "range",
        "try",
        "can",
        "slice",
        "zipmap",
        "sort",
        "formatlist",
        "regex",
    ] {
        assert!(names.contains(&required), "{required}");
    }
    assert!(
        !names
            .iter()
            .any(|n| ["uuid", "timestamp", "file", "bcrypt"].contains(n))
    );
}

#[test]
fn evaluation_is_deterministic() {
    let src = "jsonencode({for k, v in merge(param.obj, {z = toset([3, 1, 2])}) : k => v})";
    let first = run(src);
    for _ in 0..3 {
        assert_eq!(run(src), first);
    }
    check(src, s("{\"k\":\"v\",\"z\":[1,2,3]}"));
}

#[test]
fn marks_survive_expansion_and_nesting() {
    check(
        "format(\"%s %s\", secret_list...)",
        sens(s("s3cr3t-pw other")),
    );
    check("max(pending...)", Value::Unknown);
    let doubly = Value::Sensitive(Box::new(Value::Sensitive(Box::new(j(json!({"a": [1]}))))));
    let scope = Scope::new().with("x", doubly);
    let got = eval(&parse("x.a[0] + 1"), &scope).map(|v| v.reveal_debug());
    assert_eq!(got, Ok(sens(Value::int(2)).reveal_debug()));
}

/// Reading `kind.name.attr…` in place gives what evaluating it in a scope gives, secret
/// marks included, and leaves every other form (and every miss) to the evaluator.
#[test]
fn resource_attributes_read_in_place_match_the_scope() {
    let s = scope();
    let find = |kind: &str, name: &str| match s.vars.get(kind) {
        Some(Value::Map(by_name)) => match by_name.get(name) {
            Some(Value::Map(attrs)) => Some(attrs),
            _ => None,
        },
        _ => None,
    };
    for src in [
        "random_password.db.result",
        "random_password.db.id",
        "postgres_role.owner.name",
    ] {
        let e = parse(src);
        let direct = resource_attribute(&e, find).expect(src);
        assert_eq!(Some(direct), eval(&e, &s).ok(), "{src}");
    }
    assert!(
        resource_attribute(&parse("random_password.db.result"), find)
            .unwrap()
            .is_sensitive()
    );
    for src in [
        "postgres_role.owner",
        "postgres_role.owner.missing",
        "postgres_role.nobody.name",
        "postgres_role[\"owner\"].name",
        "postgres_role.*.name",
        "param.name",
        "\"${postgres_role.owner.name}\"",
    ] {
        assert_eq!(resource_attribute(&parse(src), find), None, "{src}");
    }
}

/// A megabyte of spaces, built within the budget (1,024 strings of 1,024).
const MEGABYTE: &str = r#"join("", [for a in range(1024) : format("%1024s", "")])"#;

#[test]
fn evaluation_stops_at_its_budget_where_the_growth_is() {
    const OVER: &str = "builds more than 64 MiB of values";
    // Three nested `for`s over range(1024): 8 GiB of text if nothing stopped them.
    let src = r#"join("", [for a in range(1024) : join("", [for b in range(1024) : join("", [for c in range(1024) : "xxxxxxxx"])])])"#;
    let e = check_err(src, OVER);
    assert!(e.help.is_some_and(|h| h.contains("`for`")));
    // At the sub-expression that went over (wherever the budget ran out, inside).
    assert!(e.span.as_ref().is_some_and(|s| s.start > 0), "{:?}", e.span);
    // The same in a template.
    let src = r#""%{for a in range(1024)}%{for b in range(1024)}%{for c in range(1024)}xxxxxxxx%{endfor}%{endfor}%{endfor}""#;
    check_err(src, OVER);
    // Functions whose result multiplies their arguments refuse before building it.
    let dollars = "$0".repeat(64);
    for (src, name) in [
        (format!("join({MEGABYTE}, range(1024))"), "`join`"),
        (
            format!(r#"replace({MEGABYTE}, " ", {MEGABYTE})"#),
            "`replace`",
        ),
        (
            format!(r#"replace({MEGABYTE}, "/ /", "{dollars}")"#),
            "`replace`",
        ),
        (
            format!(r#"format(join("", [for a in range(1024) : "%[1]s"]), {MEGABYTE})"#),
            "`format`",
        ),
        (
            format!(
                r#"formatlist(join("", [for a in range(64) : "%[1]s"]), [for i in range(2) : {MEGABYTE}])"#
            ),
            "`formatlist`",
        ),
        (
            format!(r#"split("", join("", [{MEGABYTE}, {MEGABYTE}]))"#),
            "`split`",
        ),
        (
            format!(r#"indent(1024, replace({MEGABYTE}, " ", "\n"))"#),
            "`indent`",
        ),
    ] {
        let e = run(&src).expect_err(&src);
        assert!(
            e.message.contains(name) && e.message.contains("the result would be about"),
            "{src}: {}",
            e.message
        );
    }
    // Within the budget, the same functions work.
    check(&format!("length({MEGABYTE})"), Value::int(1 << 20));
    check(
        &format!(r#"length(split(" ", {MEGABYTE}))"#),
        Value::int((1 << 20) + 1),
    );
    check(
        &format!(r#"length(replace({MEGABYTE}, " ", "ab"))"#),
        Value::int(2 << 20),
    );
}

#[test]
fn try_and_can_do_not_swallow_an_exhausted_budget() {
    let src = r#"[for i in range(1024) : can(join("", [for a in range(1024) : join("", [for b in range(1024) : "xxxxxxxx"])]))]"#;
    check_err(src, "builds more than 64 MiB of values");
    let src = r#"try(join("", [for a in range(1024) : join("", [for b in range(1024) : join("", [for c in range(1024) : "x"])])]), "small")"#;
    check_err(src, "builds more than 64 MiB of values");
}

#[test]
fn distinct_keeps_the_first_of_equal_values_in_linear_time() {
    check(
        r#"distinct([1, 1.0, "1", [1], [1.0], {a = 1}, {a = 1.0}, null, null, true])"#,
        j(json!([1, "1", [1], {"a": 1}, null, true])),
    );
    // 262,144 elements, 1,024 distinct: a comparison with every kept element per
    // element would be 268 million comparisons of values.
    let src = r#"length(distinct(flatten([for a in range(256) : [for b in range(1024) : b]])))"#;
    check(src, Value::int(1024));
    let src = r#"length(distinct(flatten([for a in range(256) : [for b in range(1024) : a * 1024 + b]])))"#;
    check(src, Value::int(262_144));
}

#[test]
fn physical_name_joins_the_readable_parts_and_the_suffix_within_the_limit() {
    let score = r#"{workload = "Web-App", resource = "db", id = null, suffix = "0123abcd"}"#;
    check(
        &format!("physical_name({score}, \"_\", 63)"),
        s("web_app_db_0123abcd"),
    );
    check(
        &format!("physical_name({score}, \"-\", 15)"),
        s("web-ap-0123abcd"),
    );
    let shared = r#"{workload = "web", resource = "db", id = "orders.db", suffix = "0123abcd"}"#;
    check(
        &format!("physical_name({shared}, \"-\", 63)"),
        s("shared-orders-db-0123abcd"),
    );
    check(
        &format!("physical_name({score}, \"_\", 63, \"stg\")"),
        s("stg_web_app_db_0123abcd"),
    );
    check(
        &format!("physical_name({score}, \"_\", 63, \"\")"),
        s("web_app_db_0123abcd"),
    );
    let src = format!("physical_name({score}, \"+\", 63)");
    let e = check_err(
        &src,
        "invalid argument 2 to `physical_name`: the separator must be one of",
    );
    assert_eq!(at(&src, e.span), "\"+\"");
    check_err(
        &format!("physical_name({score}, \"_\", 9)"),
        "leaves no room for a name",
    );
    check_err(
        "physical_name({workload = \"w\"}, \"_\", 63)",
        "which has `suffix`",
    );
    check_err("physical_name(param.name, \"_\", 63)", "invalid argument 1");
}
