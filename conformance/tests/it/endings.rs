//! Line-ending substitution invariance: the same lines ended by CR, LF or
//! CRLF, in any mix, decode to the same frames at any chunking.

use proptest::prelude::*;

use super::support::{config, cuts, decode, picks};

/// A line without CR or LF: field lines, comments, blank lines, noise.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        3 => "data(: ?[a-z :]{0,4})?",
        1 => "id(: ?[0-9a-z]{0,3})?",
        1 => "event(: ?[a-z]{0,3})?",
        1 => "retry(: ?[0-9+ ]{0,4})?",
        1 => ":[ a-z]{0,4}",
        1 => "[a-z :]{1,6}",
    ]
}

const ENDINGS: [&str; 3] = ["\n", "\r", "\r\n"];

proptest! {
    #![proptest_config(config("proptest-regressions/endings.txt"))]

    #[test]
    fn any_mix_of_line_endings_decodes_alike(
        lines in prop::collection::vec((line(), 0..3usize), 0..16),
        picks in picks(),
    ) {
        let mut all_lf = String::new();
        let mut mixed = String::new();
        let mut ends = lines.iter().map(|(_, end)| *end).collect::<Vec<_>>();
        for i in 1..lines.len() {
            // CR, then an empty line ended by LF, would read as one CRLF:
            // give that empty line a CRLF instead.
            if ENDINGS[ends[i - 1]] == "\r" && lines[i].0.is_empty() && ENDINGS[ends[i]] == "\n" {
                ends[i] = 2;
            }
        }
        for ((text, _), end) in lines.iter().zip(&ends) {
            all_lf.push_str(text);
            all_lf.push('\n');
            mixed.push_str(text);
            mixed.push_str(ENDINGS[*end]);
        }
        let reference = decode(all_lf.as_bytes(), &[], None);
        let decoded = decode(mixed.as_bytes(), &cuts(mixed.len(), &picks), None);
        prop_assert_eq!(decoded, reference, "{:?}", mixed);
    }
}
