//! Form bodies: repeated keys (checkbox groups) become lists, everything else a
//! string, so one raw input struct serves forms and JSON alike.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Parsed `application/x-www-form-urlencoded` pairs.
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> FormData {
        FormData(serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default())
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }
    /// Build a raw input struct; `lists` names the fields that are lists.
    pub fn to_raw<T: DeserializeOwned + Default>(&self, lists: &[&str]) -> T {
        let mut m = Map::new();
        for (k, v) in &self.0 {
            if k.starts_with('_') {
                continue;
            }
            if lists.contains(&k.as_str()) {
                let e = m.entry(k.clone()).or_insert_with(|| Value::Array(vec![]));
                if let Value::Array(a) = e
                    && !v.is_empty()
                {
                    // Station ids are numbers; a non-number becomes -1, which validation names.
                    a.push(if k == "stations" {
                        v.parse::<i64>().map(Value::from).unwrap_or(Value::from(-1))
                    } else {
                        Value::String(v.clone())
                    });
                }
            } else {
                m.insert(k.clone(), Value::String(v.clone()));
            }
        }
        for l in lists {
            m.entry(l.to_string()).or_insert_with(|| Value::Array(vec![]));
        }
        serde_json::from_value(Value::Object(m)).unwrap_or_default()
    }
}
