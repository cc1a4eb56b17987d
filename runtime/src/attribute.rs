//! Conversion of `fields(key = expr)` values into OpenTelemetry attribute values.

use opentelemetry::{StringValue, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// A value that can be recorded as a span attribute with `fields(key = expr)`.
///
/// Implemented for integers, floats, `bool`, strings, and references to them. Integers wider
/// than `i64` saturate at `i64::MAX`, the widest integer an OpenTelemetry attribute holds.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as a span attribute",
    label = "this field value is not a number, bool or string",
    note = "record a number, bool or string instead, e.g. `fields(count = items.len())` or `fields(id = id.to_string())`"
)]
pub trait AttributeValue {
    /// The OpenTelemetry value.
    fn to_value(&self) -> Value;
}

macro_rules! signed {
    ($($t:ty),*) => {$(
        impl AttributeValue for $t {
            fn to_value(&self) -> Value {
                Value::I64(i64::from(*self))
            }
        }
    )*};
}
signed!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! wide {
    ($($t:ty),*) => {$(
        impl AttributeValue for $t {
            fn to_value(&self) -> Value {
                Value::I64(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
wide!(u64, usize, u128, i128, isize);

impl AttributeValue for f64 {
    fn to_value(&self) -> Value {
        Value::F64(*self)
    }
}

impl AttributeValue for f32 {
    fn to_value(&self) -> Value {
        Value::F64(f64::from(*self))
    }
}

impl AttributeValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl AttributeValue for str {
    fn to_value(&self) -> Value {
        Value::String(StringValue::from(self.to_owned()))
    }
}

impl AttributeValue for String {
    fn to_value(&self) -> Value {
        self.as_str().to_value()
    }
}

impl AttributeValue for Cow<'_, str> {
    fn to_value(&self) -> Value {
        self.as_ref().to_value()
    }
}

impl AttributeValue for Arc<str> {
    fn to_value(&self) -> Value {
        Value::String(StringValue::from(Arc::clone(self)))
    }
}

impl<T: AttributeValue + ?Sized> AttributeValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: AttributeValue + ?Sized> AttributeValue for &mut T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: AttributeValue + ?Sized> AttributeValue for Box<T> {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert_to_their_otel_kind() {
        assert_eq!(3usize.to_value(), Value::I64(3));
        assert_eq!(u64::MAX.to_value(), Value::I64(i64::MAX));
        assert_eq!((-2i32).to_value(), Value::I64(-2));
        assert_eq!(0.5f32.to_value(), Value::F64(0.5));
        assert_eq!(true.to_value(), Value::Bool(true));
        assert_eq!("plan".to_value(), Value::from("plan"));
        assert_eq!((&&String::from("x")).to_value(), Value::from("x"));
    }
}
