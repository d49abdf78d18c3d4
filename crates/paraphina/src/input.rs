//! Reading the YAML inputs of `sim_eval` (scenario and suite files): every problem becomes
//! one line, `file:line:col: key: problem`, and the numbers of a file are checked while
//! they are parsed, so a bad value is reported where it stands.
//!
//! Syntax, unknown keys and wrong types are found by the parser (`serde-saphyr`, with
//! `deny_unknown_fields` on every section); the key path comes from
//! `serde_path_to_error`. Checks that involve several fields (a shock past the horizon,
//! a jump size on a `gbm` market) are made afterwards and point at the section with a
//! [`serde_saphyr::Spanned`] location.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::Location;

/// Bad input: one line naming the file, the place, the value and what is accepted.
/// `sim_eval` exits with status 2 on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

impl InputError {
    /// An error about the whole file (it cannot be read, it is empty...).
    pub fn file(file: &str, problem: impl fmt::Display) -> InputError {
        InputError(one_line(&format!("{file}: {problem}")))
    }
}

/// Where something stands in an input file: the file as the user named it, the line and
/// column, and the key path (`shocks[1].start_tick`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub key: String,
}

impl Place {
    pub fn new(file: &str, location: Location, key: impl Into<String>) -> Place {
        Place {
            file: file.to_string(),
            line: location.line(),
            column: location.column(),
            key: key.into(),
        }
    }

    /// The same place, one key further down (`market` → `market.vol`).
    pub fn child(&self, key: &str) -> Place {
        Place {
            key: join_key(&self.key, key),
            ..self.clone()
        }
    }

    /// The same key at another location of the same file.
    pub fn at(&self, location: Location, key: &str) -> Place {
        Place::new(&self.file, location, join_key(&self.key, key))
    }

    pub fn error(&self, problem: impl fmt::Display) -> InputError {
        InputError(one_line(&format!("{self}: {problem}")))
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = if self.key.is_empty() {
            "(top level)"
        } else {
            &self.key
        };
        if self.line == 0 {
            write!(f, "{}: {key}", self.file)
        } else {
            write!(f, "{}:{}:{}: {key}", self.file, self.line, self.column)
        }
    }
}

/// `a` + `b` as a key path; `b` may start with an index (`[2]`).
pub fn join_key(a: &str, b: &str) -> String {
    match (a.is_empty() || b.is_empty(), b.starts_with('[')) {
        (true, _) => format!("{a}{b}"),
        (false, true) => format!("{a}{b}"),
        (false, false) => format!("{a}.{b}"),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses the command line like `T::parse()`, but a bad argument is one line on stderr,
/// `<prog>: error: <what clap says> (see --help)`, with exit status 2 (clap's own message
/// adds a usage block). `--help` and `--version` print as usual.
pub fn parse_args<T: clap::Parser>(prog: &str) -> T {
    match T::try_parse() {
        Ok(args) => args,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            eprintln!("{prog}: error: {} (see --help)", clap_problem(&e.to_string()));
            std::process::exit(2);
        }
    }
}

/// The problem of a clap error message on one line: its first paragraph (clap lists the
/// missing arguments on the lines after the first, so these belong to it), without the
/// `error: ` lead; the tips and the usage block after the first blank line are left out.
fn clap_problem(text: &str) -> String {
    let paragraph: Vec<&str> = text.lines().take_while(|l| !l.trim().is_empty()).collect();
    let line = one_line(&paragraph.join(" "));
    match line.strip_prefix("error: ") {
        Some(rest) => rest.to_string(),
        None if line.is_empty() => "bad arguments".to_string(),
        None => line,
    }
}

/// Reads and parses a YAML file; `label` is how errors name it (the path as given).
pub fn read_yaml<T: DeserializeOwned>(path: &Path, label: &str) -> Result<(T, String), InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
            _ => e.to_string(),
        };
        InputError::file(label, format!("cannot read: {why}"))
    })?;
    let value = parse_yaml(&text, label)?;
    Ok((value, text))
}

/// Parses one YAML document into `T`, turning any failure into a one-line
/// `file:line:col: key: problem`.
pub fn parse_yaml<T: DeserializeOwned>(text: &str, label: &str) -> Result<T, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::file(
            label,
            "the file is empty; expected a YAML mapping",
        ));
    }
    let mut key = None;
    serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
            key = Some(clean_key(&e.path().to_string()));
            e.into_inner()
        })
    })
    .map_err(|e| {
        let e = e.without_snippet();
        let mut problem = e.to_string();
        let key = key.unwrap_or_default();
        match e.location() {
            Some(loc) => {
                // The parser appends the location; ours leads the line instead.
                let suffix = format!(" at line {}, column {}", loc.line(), loc.column());
                if let Some(stripped) = problem.strip_suffix(&suffix) {
                    problem = stripped.to_string();
                }
                Place::new(label, loc, key).error(problem)
            }
            None if key.is_empty() => InputError::file(label, problem),
            None => InputError::file(label, format!("{key}: {problem}")),
        }
    })
}

/// The path `serde_path_to_error` reports, without the parts that are no YAML keys: the
/// `value` of a `Spanned` wrapper, `?` for a key not reached yet, `.` for the root.
fn clean_key(path: &str) -> String {
    if path == "." {
        return String::new();
    }
    let mut out = String::new();
    for segment in path.split('.') {
        // A spanned sequence shows as `value[3]`: the index belongs to the key before.
        let segment = segment
            .strip_prefix("value")
            .filter(|rest| rest.starts_with('['))
            .unwrap_or(segment);
        if segment == "value" || segment == "?" || segment.is_empty() {
            continue;
        }
        out = join_key(&out, segment);
    }
    out
}

/// A rule a number must follow, checked while parsing.
pub trait NumberRule {
    /// What is accepted, for messages: "a finite number > 0".
    const EXPECTED: &'static str;
    fn accepts(v: f64) -> bool;
}

/// A number that followed rule `R` when it was parsed. Integers and floats are both
/// accepted; a quoted string is not (it is a string in YAML).
#[derive(Serialize)]
#[serde(transparent)]
pub struct Num<R> {
    value: f64,
    #[serde(skip)]
    rule: PhantomData<R>,
}

impl<R> Num<R> {
    pub fn get(&self) -> f64 {
        self.value
    }
}

impl<R> Clone for Num<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Num<R> {}

impl<R> fmt::Debug for Num<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<R> PartialEq for Num<R> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

struct NumVisitor<R>(PhantomData<R>);

impl<R: NumberRule> NumVisitor<R> {
    fn check<E: de::Error>(v: f64, shown: &dyn fmt::Display) -> Result<Num<R>, E> {
        if v.is_finite() && R::accepts(v) {
            Ok(Num {
                value: v,
                rule: PhantomData,
            })
        } else {
            Err(E::custom(format!(
                "{shown} given; expected {}",
                R::EXPECTED
            )))
        }
    }
}

impl<'de, R: NumberRule> Visitor<'de> for NumVisitor<R> {
    type Value = Num<R>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(R::EXPECTED)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num<R>, E> {
        Self::check(v, &v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num<R>, E> {
        Self::check(v as f64, &v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num<R>, E> {
        Self::check(v as f64, &v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Num<R>, E> {
        Err(E::custom(format!(
            "invalid type: string {v:?}, expected {}",
            R::EXPECTED
        )))
    }
}

impl<'de, R: NumberRule> Deserialize<'de> for Num<R> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor(PhantomData))
    }
}

macro_rules! number_rule {
    ($(#[$doc:meta])* $name:ident, $expected:literal, |$v:ident| $accepts:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $name;
        impl NumberRule for $name {
            const EXPECTED: &'static str = $expected;
            fn accepts($v: f64) -> bool {
                $accepts
            }
        }
    };
}

number_rule!(AnyFinite, "a finite number", |_v| true);
number_rule!(AboveZero, "a finite number > 0", |v| v > 0.0);
number_rule!(ZeroOrMore, "a finite number >= 0", |v| v >= 0.0);
number_rule!(
    /// A probability per venue and tick: 1 would keep every venue down for good.
    BelowOne, "a probability in [0, 1)", |v| (0.0..1.0).contains(&v)
);
number_rule!(
    /// A factor that shrinks something: (0, 1].
    Shrink, "a factor in (0, 1]", |v| v > 0.0 && v <= 1.0
);
number_rule!(
    /// A fee in basis points.
    FeeRange, "a fee in basis points in [0, 100]", |v| (0.0..=100.0).contains(&v)
);
number_rule!(
    /// A maker fee in basis points: negative is a rebate.
    MakerFeeRange, "a fee in basis points in [-100, 100] (negative: a rebate)", |v| (-100.0..=100.0).contains(&v)
);
number_rule!(
    /// A tick length: the simulator counts time in whole milliseconds.
    WholeMillis, "a positive number of seconds that is a whole number of milliseconds (e.g. 60 or 0.5)",
    |v| { let ms = v * 1000.0; (1.0..=1.0e12).contains(&ms) && (ms - ms.round()).abs() < 1e-6 }
);

pub type Finite = Num<AnyFinite>;
pub type Positive = Num<AboveZero>;
pub type NonNegative = Num<ZeroOrMore>;
pub type Probability = Num<BelowOne>;
pub type ShrinkFactor = Num<Shrink>;
pub type FeeBps = Num<FeeRange>;
pub type MakerFeeBps = Num<MakerFeeRange>;
pub type TickSeconds = Num<WholeMillis>;

/// A whole number checked while parsing (`MIN` is the smallest accepted, `MAX` the
/// largest). Whole-valued floats (`1e3`) are accepted; fractions, negatives and strings
/// are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Whole<const MIN: u64, const MAX: u64 = { u64::MAX }>(u64);

impl<const MIN: u64, const MAX: u64> Whole<MIN, MAX> {
    pub fn get(&self) -> u64 {
        self.0
    }
}

pub type Count = Whole<1>;
pub type Natural = Whole<0>;
/// A count that sizes memory or work per item (seeds, repeats, ticks of a scenario):
/// bounded, so that a slip of the keyboard is an error and not an out-of-memory abort.
pub type BoundedCount<const MAX: u64> = Whole<1, MAX>;

struct WholeVisitor<const MIN: u64, const MAX: u64>;

impl<const MIN: u64, const MAX: u64> WholeVisitor<MIN, MAX> {
    fn expected() -> String {
        if MAX == u64::MAX {
            format!("a whole number >= {MIN}")
        } else {
            format!("a whole number from {MIN} to {MAX}")
        }
    }

    fn refuse<E: de::Error>(shown: &dyn fmt::Display) -> E {
        E::custom(format!("{shown} given; expected {}", Self::expected()))
    }
}

impl<'de, const MIN: u64, const MAX: u64> Visitor<'de> for WholeVisitor<MIN, MAX> {
    type Value = Whole<MIN, MAX>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Self::expected())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Whole<MIN, MAX>, E> {
        if (MIN..=MAX).contains(&v) {
            Ok(Whole(v))
        } else {
            Err(Self::refuse(&v))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Whole<MIN, MAX>, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            Err(_) => Err(Self::refuse(&v)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Whole<MIN, MAX>, E> {
        Err(E::custom(format!(
            "invalid type: string {v:?}, expected {}",
            Self::expected()
        )))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Whole<MIN, MAX>, E> {
        // Below 2^53 every whole float is exact, so the conversion loses nothing.
        if v.is_finite() && v.fract() == 0.0 && (0.0..9.007_199_254_740_992e15).contains(&v) {
            self.visit_u64(v as u64)
        } else {
            Err(Self::refuse(&v))
        }
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Whole<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(WholeVisitor::<MIN, MAX>)
    }
}

/// An identifier that also names a directory of the outputs: letters, digits, `_`, `.`
/// and `-`, starting with a letter or digit, at most 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Ident(String);

impl Ident {
    pub const EXPECTED: &'static str =
        "1 to 100 letters, digits, `_`, `.` or `-`, starting with a letter or digit";

    pub fn parse(s: &str) -> Option<Ident> {
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        (first_ok && rest_ok && s.len() <= 100).then(|| Ident(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Ident {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ident::parse(&s)
            .ok_or_else(|| de::Error::custom(format!("{s:?} given; expected {}", Ident::EXPECTED)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        steps: Count,
        vol: Option<Positive>,
        dt: Option<TickSeconds>,
        #[serde(default)]
        items: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        x: Finite,
    }

    fn err(text: &str) -> String {
        parse_yaml::<Doc>(text, "f.yaml").unwrap_err().to_string()
    }

    #[test]
    fn errors_are_one_line_with_file_line_column_and_key() {
        assert_eq!(
            err("steps: 3\nitems:\n  - x: 1\n  - x: 2\n    y: 3\n"),
            "f.yaml:5:5: items[1].y: unknown field `y`, expected one of x"
        );
        assert_eq!(
            err("steps: 3\nvol: -1\n"),
            "f.yaml:2:6: vol: -1 given; expected a finite number > 0"
        );
        assert_eq!(
            err("steps: 2.5\n"),
            "f.yaml:1:8: steps: 2.5 given; expected a whole number >= 1"
        );
        assert_eq!(
            err("steps: 0\n"),
            "f.yaml:1:8: steps: 0 given; expected a whole number >= 1"
        );
        let e = err("steps: 3\nvol: \"2\"\n");
        assert!(
            e.starts_with("f.yaml:2:") && e.contains("vol: invalid type: string \"2\""),
            "{e}"
        );
        let e = err("steps: [1\n");
        assert!(e.starts_with("f.yaml:1:") && !e.contains('\n'), "{e}");
        assert_eq!(
            err("  \n"),
            "f.yaml: the file is empty; expected a YAML mapping"
        );
    }

    #[test]
    fn tick_seconds_must_be_whole_milliseconds() {
        let ok = |t: &str| parse_yaml::<Doc>(&format!("steps: 1\ndt: {t}\n"), "f").is_ok();
        assert!(ok("60") && ok("0.5") && ok("0.001"));
        assert!(!ok("0.0005") && !ok("0") && !ok("-1") && !ok(".inf"));
    }

    #[test]
    fn identifiers_are_directory_safe() {
        assert!(Ident::parse("vol_x2.v1-a").is_some());
        for bad in ["", ".hidden", "a/b", "..", "a b", "-x"] {
            assert!(Ident::parse(bad).is_none(), "{bad}");
        }
    }
}
