//! Run-time values. Strings, lists and maps borrow from the entry or the
//! compiled filter where they can, so reading a field never copies it.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::{self, Write};
use std::rc::Rc;

use crate::error::EvalError;
use crate::time;

/// A CEL value during evaluation.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
    List(List<'a>),
    Map(Map<'a>),
    /// Nanoseconds since the Unix epoch.
    Timestamp(i128),
    /// Nanoseconds.
    Duration(i128),
    /// A type value (`int`, `type(x)`), by its CEL name.
    Type(&'static str),
}

/// A list: borrowed strings of the entry, or built values.
#[derive(Debug, Clone)]
pub enum List<'a> {
    Strs(&'a [String]),
    Vals(Rc<Vec<Value<'a>>>),
}

/// A map: borrowed string pairs of the entry, or built pairs. Keys are unique.
#[derive(Debug, Clone)]
pub enum Map<'a> {
    Pairs(&'a [(String, String)]),
    Vals(Rc<Vec<(Value<'a>, Value<'a>)>>),
}

impl<'a> List<'a> {
    pub fn len(&self) -> usize {
        match self {
            List::Strs(s) => s.len(),
            List::Vals(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<Value<'a>> {
        match self {
            List::Strs(s) => s.get(i).map(|s| Value::Str(Cow::Borrowed(s.as_str()))),
            List::Vals(v) => v.get(i).cloned(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Value<'a>> + '_ {
        (0..self.len()).filter_map(move |i| self.get(i))
    }
}

impl<'a> Map<'a> {
    pub fn len(&self) -> usize {
        match self {
            Map::Pairs(p) => p.len(),
            Map::Vals(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value under `key` (CEL key equality: numeric keys compare by value).
    pub fn get(&self, key: &Value<'_>) -> Option<Value<'a>> {
        match self {
            Map::Pairs(p) => match key {
                Value::Str(k) => p
                    .iter()
                    .find(|(pk, _)| pk == k)
                    .map(|(_, v)| Value::Str(Cow::Borrowed(v.as_str()))),
                _ => None,
            },
            Map::Vals(v) => v
                .iter()
                .find(|(k, _)| k.equals(key) == Some(true))
                .map(|(_, v)| v.clone()),
        }
    }

    pub fn get_str(&self, key: &str) -> Option<Value<'a>> {
        match self {
            Map::Pairs(p) => p
                .iter()
                .find(|(pk, _)| pk == key)
                .map(|(_, v)| Value::Str(Cow::Borrowed(v.as_str()))),
            Map::Vals(_) => self.get(&Value::Str(Cow::Borrowed(key))),
        }
    }

    pub fn keys(&self) -> Vec<Value<'a>> {
        match self {
            Map::Pairs(p) => p
                .iter()
                .map(|(k, _)| Value::Str(Cow::Borrowed(k.as_str())))
                .collect(),
            Map::Vals(v) => v.iter().map(|(k, _)| k.clone()).collect(),
        }
    }

    pub fn entries(&self) -> Vec<(Value<'a>, Value<'a>)> {
        match self {
            Map::Pairs(p) => p
                .iter()
                .map(|(k, v)| {
                    (
                        Value::Str(Cow::Borrowed(k.as_str())),
                        Value::Str(Cow::Borrowed(v.as_str())),
                    )
                })
                .collect(),
            Map::Vals(v) => v.as_ref().clone(),
        }
    }
}

fn cmp_int_uint(i: i64, u: u64) -> Ordering {
    if i < 0 {
        Ordering::Less
    } else {
        (i as u64).cmp(&u)
    }
}

/// CEL compares an int or uint with a double by converting it to double.
fn cmp_int_double(i: i64, d: f64) -> Option<Ordering> {
    (i as f64).partial_cmp(&d)
}

fn cmp_uint_double(u: u64, d: f64) -> Option<Ordering> {
    (u as f64).partial_cmp(&d)
}

impl<'a> Value<'a> {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null_type",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Uint(_) => "uint",
            Value::Double(_) => "double",
            Value::Str(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Timestamp(_) => "google.protobuf.Timestamp",
            Value::Duration(_) => "google.protobuf.Duration",
            Value::Type(_) => "type",
        }
    }

    pub fn str(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }

    /// CEL heterogeneous equality. `None` never happens for equality of
    /// supported values; kept as Option so NaN-like cases stay explicit.
    pub fn equals(&self, other: &Value<'_>) -> Option<bool> {
        use Value as V;
        Some(match (self, other) {
            (V::Null, V::Null) => true,
            (V::Bool(a), V::Bool(b)) => a == b,
            (V::Str(a), V::Str(b)) => a == b,
            (V::Bytes(a), V::Bytes(b)) => a == b,
            (V::Timestamp(a), V::Timestamp(b)) | (V::Duration(a), V::Duration(b)) => a == b,
            (V::Type(a), V::Type(b)) => a == b,
            (V::Int(_) | V::Uint(_) | V::Double(_), V::Int(_) | V::Uint(_) | V::Double(_)) => {
                self.compare(other) == Some(Ordering::Equal)
            }
            (V::List(a), V::List(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                for (x, y) in a.iter().zip(b.iter()) {
                    if x.equals(&y) != Some(true) {
                        return Some(false);
                    }
                }
                true
            }
            (V::Map(a), V::Map(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                for (k, v) in a.entries() {
                    match b.get(&k) {
                        Some(w) if v.equals(&w) == Some(true) => {}
                        _ => return Some(false),
                    }
                }
                true
            }
            _ => false,
        })
    }

    /// CEL ordering; `None` when the values are not ordered (NaN, mixed kinds).
    pub fn compare(&self, other: &Value<'_>) -> Option<Ordering> {
        use Value as V;
        match (self, other) {
            (V::Int(a), V::Int(b)) => Some(a.cmp(b)),
            (V::Uint(a), V::Uint(b)) => Some(a.cmp(b)),
            (V::Double(a), V::Double(b)) => a.partial_cmp(b),
            (V::Int(a), V::Uint(b)) => Some(cmp_int_uint(*a, *b)),
            (V::Uint(a), V::Int(b)) => Some(cmp_int_uint(*b, *a).reverse()),
            (V::Int(a), V::Double(b)) => cmp_int_double(*a, *b),
            (V::Double(a), V::Int(b)) => cmp_int_double(*b, *a).map(Ordering::reverse),
            (V::Uint(a), V::Double(b)) => cmp_uint_double(*a, *b),
            (V::Double(a), V::Uint(b)) => cmp_uint_double(*b, *a).map(Ordering::reverse),
            (V::Str(a), V::Str(b)) => Some(a.cmp(b)),
            (V::Bytes(a), V::Bytes(b)) => Some(a.cmp(b)),
            (V::Bool(a), V::Bool(b)) => Some(a.cmp(b)),
            (V::Timestamp(a), V::Timestamp(b)) | (V::Duration(a), V::Duration(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Ordering that must be defined, else a "no matching overload" error.
    pub fn ordered(&self, other: &Value<'_>, op: &str) -> Result<Option<Ordering>, EvalError> {
        match (self, other) {
            (Value::Double(_), _) | (_, Value::Double(_))
                if self.is_numeric() && other.is_numeric() =>
            {
                Ok(self.compare(other))
            }
            _ => match self.compare(other) {
                Some(o) => Ok(Some(o)),
                None => Err(EvalError::NoOverload(format!(
                    "{} {op} {}",
                    self.type_name(),
                    other.type_name()
                ))),
            },
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Uint(_) | Value::Double(_))
    }

    /// The value as a CEL literal (`1`, `1u`, `"s"`, `[1, 2]`, `timestamp("…")`).
    pub fn to_literal(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_literal(&mut s);
        s
    }

    fn write_literal(&self, s: &mut String) -> fmt::Result {
        match self {
            Value::Null => s.push_str("null"),
            Value::Bool(b) => write!(s, "{b}")?,
            Value::Int(i) => write!(s, "{i}")?,
            Value::Uint(u) => write!(s, "{u}u")?,
            Value::Double(d) => {
                if d.is_nan() {
                    s.push_str("double(\"NaN\")");
                } else if d.is_infinite() {
                    s.push_str(if *d > 0.0 {
                        "double(\"Infinity\")"
                    } else {
                        "double(\"-Infinity\")"
                    });
                } else if d.fract() == 0.0 && d.abs() < 1e16 {
                    write!(s, "{d:.1}")?;
                } else {
                    write!(s, "{d}")?;
                }
            }
            Value::Str(t) => write_quoted(s, t)?,
            Value::Bytes(b) => {
                s.push_str("b\"");
                for &c in b.iter() {
                    match c {
                        b'"' => s.push_str("\\\""),
                        b'\\' => s.push_str("\\\\"),
                        0x20..=0x7e => s.push(c as char),
                        _ => write!(s, "\\x{c:02x}")?,
                    }
                }
                s.push('"');
            }
            Value::List(l) => {
                s.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    v.write_literal(s)?;
                }
                s.push(']');
            }
            Value::Map(m) => {
                s.push('{');
                for (i, (k, v)) in m.entries().iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    k.write_literal(s)?;
                    s.push_str(": ");
                    v.write_literal(s)?;
                }
                s.push('}');
            }
            Value::Timestamp(t) => {
                s.push_str("timestamp(\"");
                s.push_str(&time::format_timestamp(*t));
                s.push_str("\")");
            }
            Value::Duration(d) => {
                s.push_str("duration(\"");
                s.push_str(&time::format_duration(*d));
                s.push_str("\")");
            }
            Value::Type(t) => s.push_str(t),
        }
        Ok(())
    }
}

fn write_quoted(s: &mut String, t: &str) -> fmt::Result {
    s.push('"');
    for c in t.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(s, "\\x{:02x}", c as u32)?,
            c => s.push(c),
        }
    }
    s.push('"');
    Ok(())
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_literal())
    }
}
