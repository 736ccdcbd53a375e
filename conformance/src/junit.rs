//! JUnit XML, the test report format CI systems display: one `<testsuite>`
//! per group, one `<testcase>` per case, `<failure>` and `<skipped>` with
//! their reasons.

use std::fmt::Write as _;

/// A test case's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Passed.
    Pass,
    /// Failed, with the message.
    Fail(String),
    /// Not run, with the reason.
    Skip(String),
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    /// The case id.
    pub name: String,
    /// How it went.
    pub verdict: Verdict,
}

/// One suite: a group of cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSuite {
    /// The suite name (`bourn-codec/retry`).
    pub name: String,
    /// Its cases.
    pub cases: Vec<TestCase>,
}

/// The XML document for `suites`, under `<testsuites name="...">`.
pub fn render(name: &str, suites: &[TestSuite]) -> String {
    let count = |suite: &TestSuite, pick: fn(&Verdict) -> bool| {
        suite.cases.iter().filter(|c| pick(&c.verdict)).count()
    };
    let failed = |v: &Verdict| matches!(v, Verdict::Fail(_));
    let skipped = |v: &Verdict| matches!(v, Verdict::Skip(_));
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(|s| count(s, failed)).sum();
    let skips: usize = suites.iter().map(|s| count(s, skipped)).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skips}\">",
        escape(name)
    );
    for suite in suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
            escape(&suite.name),
            suite.cases.len(),
            count(suite, failed),
            count(suite, skipped)
        );
        for case in &suite.cases {
            let open = format!(
                "    <testcase name=\"{}\" classname=\"{}\"",
                escape(&case.name),
                escape(&suite.name)
            );
            match &case.verdict {
                Verdict::Pass => {
                    let _ = writeln!(out, "{open}/>");
                }
                Verdict::Fail(message) => {
                    let first = message.lines().next().unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "{open}>\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        escape(first),
                        escape(message)
                    );
                }
                Verdict::Skip(reason) => {
                    let _ = writeln!(
                        out,
                        "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                        escape(reason)
                    );
                }
            }
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes text for an XML attribute or element. Characters XML 1.0 cannot
/// carry at all (most C0 controls, U+FFFE, U+FFFF) are written as `\u{..}`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_escapes() {
        let suites = [TestSuite {
            name: "codec/retry".into(),
            cases: vec![
                TestCase {
                    name: "a".into(),
                    verdict: Verdict::Pass,
                },
                TestCase {
                    name: "b<&>".into(),
                    verdict: Verdict::Fail("want \"x\"\nline two\u{0}".into()),
                },
                TestCase {
                    name: "c".into(),
                    verdict: Verdict::Skip("limits".into()),
                },
            ],
        }];
        let xml = render("bourn", &suites);
        assert!(
            xml.contains(r#"tests="3" failures="1" errors="0" skipped="1""#),
            "{xml}"
        );
        assert!(xml.contains(r#"<testcase name="b&lt;&amp;&gt;""#), "{xml}");
        assert!(xml.contains(r#"message="want &quot;x&quot;""#), "{xml}");
        assert!(xml.contains("line two\\u{0}</failure>"), "{xml}");
        assert!(xml.contains(r#"<skipped message="limits"/>"#), "{xml}");
    }
}
