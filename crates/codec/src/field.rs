//! Validated values for the `event` and `id` fields of an outgoing event.
//!
//! A value with a line break would end its field early and start another,
//! and "If the field value does not contain U+0000 NULL, then set the last
//! event ID buffer to the field value. Otherwise, ignore the field": an `id`
//! with NUL would be silently dropped by every client. These types refuse
//! such values once, when they are made, so that building and encoding an
//! event never fails.

use core::fmt;
use core::ops::Deref;

use alloc::string::{String, ToString};
use bytestring::ByteString;

use crate::error::{EncodeError, Field};

/// The bytes refused in an `event` value.
const EVENT_FORBIDDEN: &[u8] = b"\r\n";
/// The bytes refused in an `id` value.
const ID_FORBIDDEN: &[u8] = b"\r\n\0";

/// The index of the first byte of `value` that is in `forbidden`.
const fn first_forbidden(value: &[u8], forbidden: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < value.len() {
        let mut j = 0;
        while j < forbidden.len() {
            if value[i] == forbidden[j] {
                return Some(i);
            }
            j += 1;
        }
        i += 1;
    }
    None
}

fn check(field: Field, value: &str, forbidden: &[u8]) -> Result<(), EncodeError> {
    match first_forbidden(value.as_bytes(), forbidden) {
        Some(index) => Err(EncodeError::new(field, index, value.as_bytes()[index])),
        None => Ok(()),
    }
}

macro_rules! field_type {
    ($(#[$doc:meta])* $name:ident, $field:expr, $forbidden:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(ByteString);

        impl $name {
            #[doc = concat!("A", $what, " value, or an [`EncodeError`] naming the first refused byte.")]
            ///
            /// Takes a `&str`, a `String` or a [`ByteString`]; an owned
            /// value is kept without a copy.
            pub fn new(value: impl Into<ByteString>) -> Result<Self, EncodeError> {
                let value = value.into();
                check($field, &value, $forbidden)?;
                Ok($name(value))
            }

            #[doc = concat!("A", $what, " value from a literal, checked at compile time in a `const`.")]
            ///
            /// # Panics
            ///
            /// If `value` holds a refused byte: at compile time when called
            /// in a `const` item, else at run time. Use
            #[doc = concat!("[`", stringify!($name), "::new`]")]
            /// for values that are not literals.
            pub const fn from_static(value: &'static str) -> Self {
                if first_forbidden(value.as_bytes(), $forbidden).is_some() {
                    panic!(concat!("`", stringify!($name), "::from_static`: the value holds a refused byte"));
                }
                $name(ByteString::from_static(value))
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value as a shared string, without a copy.
            pub fn into_inner(self) -> ByteString {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                *self.0 == *other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                *self.0 == **other
            }
        }

        impl TryFrom<&str> for $name {
            type Error = EncodeError;

            fn try_from(value: &str) -> Result<Self, EncodeError> {
                $name::new(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = EncodeError;

            fn try_from(value: String) -> Result<Self, EncodeError> {
                $name::new(value)
            }
        }

        impl TryFrom<ByteString> for $name {
            type Error = EncodeError;

            fn try_from(value: ByteString) -> Result<Self, EncodeError> {
                $name::new(value)
            }
        }

        impl core::str::FromStr for $name {
            type Err = EncodeError;

            fn from_str(value: &str) -> Result<Self, EncodeError> {
                $name::new(value)
            }
        }

        impl From<$name> for ByteString {
            fn from(value: $name) -> ByteString {
                value.0
            }
        }
    };
}

field_type!(
    /// The type of an outgoing event (its `event` field): any text without
    /// `\r` or `\n`.
    ///
    /// ```
    /// use bourn_codec::{EventType, Field};
    ///
    /// const PRICE: EventType = EventType::from_static("price");
    /// assert_eq!(PRICE, "price");
    ///
    /// let refused = EventType::new("a\nb").unwrap_err();
    /// assert_eq!((refused.field(), refused.index()), (Field::Event, 1));
    /// ```
    ///
    /// In a `const`, a refused literal does not compile:
    ///
    /// ```compile_fail
    /// const BAD: bourn_codec::EventType = bourn_codec::EventType::from_static("a\nb");
    /// ```
    EventType,
    Field::Event,
    EVENT_FORBIDDEN,
    "n `event`"
);

field_type!(
    /// The `id` field of an outgoing event: any text without `\r`, `\n` or
    /// NUL. An empty id is valid: it clears the client's last event ID.
    ///
    /// Numbers convert without a check (`Id::from(42_u64)`).
    ///
    /// ```
    /// use bourn_codec::{Field, Id};
    ///
    /// assert_eq!(Id::new("7")?, "7");
    /// assert_eq!(Id::from(42_u64), "42");
    ///
    /// let refused = Id::new("1\0").unwrap_err();
    /// assert_eq!((refused.field(), refused.byte()), (Field::Id, 0));
    /// # Ok::<(), bourn_codec::EncodeError>(())
    /// ```
    Id,
    Field::Id,
    ID_FORBIDDEN,
    "n `id`"
);

impl From<u64> for Id {
    fn from(value: u64) -> Self {
        // ASCII digits hold no refused byte.
        Id(ByteString::from(value.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_line_breaks_and_nul_where_the_spec_would_misread_them() {
        type Refused = Option<(usize, u8)>;
        let cases: &[(&str, Refused, Refused)] = &[
            ("", None, None),
            ("plain", None, None),
            ("a\nb", Some((1, b'\n')), Some((1, b'\n'))),
            ("ab\r", Some((2, b'\r')), Some((2, b'\r'))),
            ("\0x", None, Some((0, 0))),
            ("é\n", Some((2, b'\n')), Some((2, b'\n'))),
        ];
        for &(value, event, id) in cases {
            let got = EventType::new(value).err().map(|e| (e.index(), e.byte()));
            assert_eq!(got, event, "event {value:?}");
            let got = Id::new(value).err().map(|e| (e.index(), e.byte()));
            assert_eq!(got, id, "id {value:?}");
            if event.is_none() {
                assert_eq!(EventType::new(value).unwrap().as_str(), value);
            }
        }
        assert_eq!(
            EventType::new("\n").unwrap_err().field(),
            Field::Event,
            "the error names the field"
        );
        assert_eq!(Id::new("\n").unwrap_err().field(), Field::Id);
    }

    #[test]
    fn conversions_agree_with_new() {
        assert_eq!(EventType::try_from("x"), EventType::new("x"));
        assert_eq!(Id::try_from(String::from("a\rb")), Id::new("a\rb"));
        assert_eq!("7".parse::<Id>(), Id::new("7"));
        assert_eq!(
            ByteString::from(EventType::from_static("t")),
            ByteString::from_static("t")
        );
    }

    #[test]
    fn numbers_are_ids() {
        for (n, text) in [
            (0, "0"),
            (9, "9"),
            (10, "10"),
            (u64::MAX, "18446744073709551615"),
        ] {
            assert_eq!(Id::from(n).as_str(), text);
        }
    }

    #[test]
    #[should_panic(expected = "refused byte")]
    fn from_static_panics_on_a_refused_byte_at_run_time() {
        let value: &'static str = if core::hint::black_box(true) {
            "a\nb"
        } else {
            ""
        };
        let _ = Id::from_static(value);
    }
}
