//! A call's parameters, from the query string and the body (`application/json` or
//! `application/x-www-form-urlencoded`), as the Bot API takes them: in a form every value is a
//! string, and objects (`reply_parameters`) come JSON-encoded in one.

use crate::error::ApiError;
use serde_json::{Map, Value};

/// The parameters of one call, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(Map<String, Value>);

impl Params {
    /// Adds the pairs of a query string or form body (later values win).
    pub fn add_form(&mut self, form: &[u8]) {
        for (k, v) in form_urlencoded::parse(form) {
            self.0.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }

    /// Adds the members of a JSON object body; an empty body adds nothing.
    pub fn add_json(&mut self, body: &[u8]) -> Result<(), ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(members)) => {
                self.0.extend(members);
                Ok(())
            }
            Ok(_) => Err(ApiError::BadRequest(
                "the JSON body must be an object".into(),
            )),
            Err(e) => Err(ApiError::BadRequest(format!("can't parse JSON body: {e}"))),
        }
    }

    /// A value by name; `null` counts as absent.
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// An integer parameter (a JSON number or a decimal string), if present.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::invalid(name, "must be an integer")),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid(name, "must be an integer")),
            Some(_) => Err(ApiError::invalid(name, "must be an integer")),
        }
    }

    /// A string parameter, if present (numbers are taken as their decimal text).
    pub fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ApiError::invalid(name, "must be a string")),
        }
    }

    /// An object parameter, given as a JSON object or a JSON-encoded string, if present.
    pub fn object(&self, name: &str) -> Result<Option<Map<String, Value>>, ApiError> {
        let parsed;
        let value = match self.get(name) {
            None => return Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
            Some(Value::String(s)) => {
                parsed = serde_json::from_str::<Value>(s)
                    .map_err(|_| ApiError::invalid(name, "must be a JSON object"))?;
                &parsed
            }
            Some(v) => v,
        };
        match value {
            Value::Object(members) => Ok(Some(members.clone())),
            _ => Err(ApiError::invalid(name, "must be a JSON object")),
        }
    }
}

impl Params {
    /// Sets a parameter (replacing one of the same name).
    pub fn set(&mut self, name: &str, value: Value) {
        self.0.insert(name.to_owned(), value);
    }

    /// An array parameter, given as a JSON array or a JSON-encoded string, if present.
    pub fn array(&self, name: &str) -> Result<Option<Vec<Value>>, ApiError> {
        let parsed;
        let value = match self.get(name) {
            None => return Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
            Some(Value::String(s)) => {
                parsed = serde_json::from_str::<Value>(s)
                    .map_err(|_| ApiError::invalid(name, "must be a JSON array"))?;
                &parsed
            }
            Some(v) => v,
        };
        match value {
            Value::Array(items) => Ok(Some(items.clone())),
            _ => Err(ApiError::invalid(name, "must be a JSON array")),
        }
    }

    /// A boolean parameter (`true`/`false`, or as a form sends it: `1`, `0`, `True`), if
    /// present.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(ApiError::invalid(name, "must be a Boolean")),
            },
            Some(_) => Err(ApiError::invalid(name, "must be a Boolean")),
        }
    }
}

/// An integer member of an object parameter (`reply_parameters.message_id`).
pub fn member_int(object: &Map<String, Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(name, "must be an integer")),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid(name, "must be an integer")),
        Some(_) => Err(ApiError::invalid(name, "must be an integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_json_give_the_same_values() {
        let mut form = Params::default();
        form.add_form(b"chat_id=42&text=hi%20there&reply_parameters=%7B%22message_id%22%3A5%7D");
        let mut json = Params::default();
        json.add_json(br#"{"chat_id":42,"text":"hi there","reply_parameters":{"message_id":5}}"#)
            .unwrap();
        for p in [&form, &json] {
            assert_eq!(p.int("chat_id").unwrap(), Some(42));
            assert_eq!(p.string("text").unwrap().as_deref(), Some("hi there"));
            let reply = p.object("reply_parameters").unwrap().unwrap();
            assert_eq!(member_int(&reply, "message_id").unwrap(), Some(5));
        }
    }

    #[test]
    fn arrays_and_flags_from_forms_and_json() {
        let mut form = Params::default();
        form.add_form(b"allowed_updates=%5B%22message%22%5D&drop_pending_updates=True&x=maybe");
        assert_eq!(
            form.array("allowed_updates").unwrap(),
            Some(vec![Value::String("message".into())])
        );
        assert_eq!(form.flag("drop_pending_updates").unwrap(), Some(true));
        assert!(form.flag("x").is_err());
        assert!(form.array("x").is_err());
        let mut json = Params::default();
        json.add_json(br#"{"allowed_updates":[],"drop_pending_updates":false}"#)
            .unwrap();
        assert_eq!(json.array("allowed_updates").unwrap(), Some(Vec::new()));
        assert_eq!(json.flag("drop_pending_updates").unwrap(), Some(false));
        assert_eq!(json.flag("missing").unwrap(), None);
    }

    #[test]
    fn bad_values_are_bad_requests() {
        let mut p = Params::default();
        p.add_form(b"offset=abc&reply_parameters=nope&limit=");
        assert!(matches!(p.int("offset"), Err(ApiError::BadRequest(_))));
        assert!(matches!(
            p.object("reply_parameters"),
            Err(ApiError::BadRequest(_))
        ));
        assert_eq!(p.int("limit").unwrap(), None);
        assert_eq!(p.int("missing").unwrap(), None);
        assert!(p.add_json(b"[1,2]").is_err());
        assert!(p.add_json(b"{not json").is_err());
        assert!(p.add_json(b"").is_ok());
    }
}
