//! A scalar typed as the file's format reads it: what a program that loads the
//! file gets for one value (`spec/deploy.md`, section 1).

use zeroize::Zeroizing;

/// A single value, typed as the file's format reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A string, decoded (no quotes, no escapes).
    String(Zeroizing<String>),
    /// An integer in decimal, with `-` for a negative one (`0x1f` reads `31`).
    Integer(Zeroizing<String>),
    /// A floating-point number as the shortest JSON number text that reads back
    /// as the same binary64 value, or `inf`, `-inf`, `nan`.
    Float(Zeroizing<String>),
    /// `true` or `false`.
    Bool(bool),
    /// YAML's and JSON's null, and an empty YAML value.
    Null,
    /// A TOML date, time or date-time, in RFC 3339 form.
    Datetime(Zeroizing<String>),
}

impl Scalar {
    /// The text a program gets when it reads the value from an environment
    /// variable: a string as it is, a number in the form above, `true`/`false`,
    /// the empty string for null.
    pub fn text(&self) -> &str {
        match self {
            Scalar::String(s) | Scalar::Integer(s) | Scalar::Float(s) | Scalar::Datetime(s) => s,
            Scalar::Bool(true) => "true",
            Scalar::Bool(false) => "false",
            Scalar::Null => "",
        }
    }

    /// Whether this is a float with no JSON spelling (`inf`, `-inf`, `nan`).
    pub fn is_non_finite(&self) -> bool {
        matches!(self, Scalar::Float(f) if matches!(f.as_str(), "inf" | "-inf" | "nan"))
    }
}

/// Appends `s` to a buffer holding secrets: when the buffer must grow, the old one
/// is wiped rather than left behind by a reallocation.
pub(crate) fn push_wiped(out: &mut Zeroizing<String>, s: &str) {
    if out.capacity() - out.len() < s.len() {
        let mut bigger = Zeroizing::new(String::with_capacity((out.len() + s.len()) * 2));
        bigger.push_str(out);
        *out = bigger;
    }
    out.push_str(s);
}

/// A float's text in the form [`Scalar::Float`] keeps.
pub(crate) fn float_text(f: f64) -> Zeroizing<String> {
    Zeroizing::new(if f.is_nan() {
        "nan".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        // Debug is the shortest text that reads back as the same f64, and is
        // valid JSON for a finite value ("1.0", "1e300", "-0.0").
        format!("{f:?}")
    })
}
