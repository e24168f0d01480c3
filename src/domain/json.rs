//! Strict JSON input: objects only, integers as JSON Schema counts them,
//! absent versus `null`.

use serde::Deserialize;

/// For PATCH-like bodies: tells an absent field (`None`) from an explicit
/// `null` (`Some(None)`). Use with `#[serde(default, deserialize_with = …)]`.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A deserializer that reads structs only from JSON objects. serde's derived
/// structs also accept an array of the field values (`[null]` for
/// `{"refresh_token": null}`), which the contract does not allow: every body
/// and nested object is an object. Wraps the top level in [`parse_json`]; a
/// nested type opts in with `#[serde(remote = "Self")]` and a `Deserialize`
/// impl that calls the generated one through `ObjectsOnly`.
pub struct ObjectsOnly<D>(pub D);

impl<'de, D: serde::Deserializer<'de>> serde::Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// Integers as JSON Schema counts them: `2016` and also `2016.0` (a number
/// with a zero fraction *is* an integer there, and clients built from the
/// spec may send one); `2016.5`, strings and out-of-range values are errors.
/// Use with `#[serde(deserialize_with = "crate::domain::json::integer")]`.
pub fn integer<'de, T, D>(d: D) -> Result<T, D::Error>
where
    T: TryFrom<i64>,
    D: serde::Deserializer<'de>,
{
    use serde::de::{Error, Unexpected};
    let n = serde_json::Number::deserialize(d)?;
    let whole = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => Some(i),
        // i64's range as floats: [-2^63, 2^63).
        (None, Some(f))
            if f.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) =>
        {
            Some(f as i64)
        }
        _ => None,
    };
    let unexpected = || match n.as_f64() {
        Some(f) => Unexpected::Float(f),
        None => Unexpected::Other("number"),
    };
    let i = whole.ok_or_else(|| D::Error::invalid_type(unexpected(), &"an integer"))?;
    T::try_from(i)
        .map_err(|_| D::Error::invalid_value(Unexpected::Signed(i), &"an integer in range"))
}

/// [`integer`] for an optional (nullable) field; use with `#[serde(default)]`.
pub fn opt_integer<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
where
    T: TryFrom<i64>,
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Wrap<T: TryFrom<i64>>(#[serde(deserialize_with = "integer")] T);
    Ok(Option::<Wrap<T>>::deserialize(d)?.map(|w| w.0))
}

/// An optional (nullable) integer written as one: `3000000`, never
/// `3000000.0`. For sums of money, where a decimal point is a client's
/// mistake to report rather than a number to round; use with
/// `#[serde(default)]`.
pub fn opt_integer_literal<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
where
    T: TryFrom<i64>,
    D: serde::Deserializer<'de>,
{
    use serde::de::{Error, Unexpected};
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    let i = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i,
        (None, Some(f)) if n.is_f64() => {
            return Err(D::Error::invalid_type(
                Unexpected::Float(f),
                &"a whole number without a decimal point",
            ))
        }
        _ => {
            return Err(D::Error::invalid_value(
                Unexpected::Other("number"),
                &"an integer in range",
            ))
        }
    };
    T::try_from(i)
        .map(Some)
        .map_err(|_| D::Error::invalid_value(Unexpected::Signed(i), &"an integer in range"))
}

/// Implements `Deserialize` (through [`ObjectsOnly`]) and `Serialize` for
/// types whose derives carry `#[serde(remote = "Self")]`.
macro_rules! objects_only {
    ($($t:ty),* $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$t>::deserialize($crate::domain::json::ObjectsOnly(d))
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$t>::serialize(self, s)
            }
        }
    )*};
}
pub(crate) use objects_only;
