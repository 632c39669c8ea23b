//! redcell-plan: the coverage and contact-assignment solver (联系全覆盖).
//!
//! Pure Rust, no database: it reads an assignment instance and writes a plan as
//! specified in `shared/formats/plan-instance.md`. The solver itself is built
//! with the coverage capability; this crate holds the file formats it shares
//! with other tools.

use serde::{Deserialize, Serialize};

/// The current format version of instance and plan files.
pub const FORMAT_VERSION: u32 = 1;

/// A household to be covered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Household {
    pub id: String,
    pub x: f64,
    pub y: f64,
    pub grid: String,
    pub building: String,
}

/// A member who can take households, up to `max`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub x: f64,
    pub y: f64,
    pub grid: String,
    pub building: String,
    pub max: u32,
    pub min: u32,
}

/// One household–member pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    pub household: String,
    pub member: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Params {
    #[serde(default)]
    pub cross_grid: bool,
    #[serde(default)]
    pub move_penalty: i64,
}

/// An assignment instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub version: u32,
    pub households: Vec<Household>,
    pub members: Vec<Member>,
    #[serde(default)]
    pub current: Vec<Pair>,
    #[serde(default)]
    pub params: Params,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_example() {
        let json = r#"{
          "version": 1,
          "households": [ {"id": "h-1", "x": 120.0, "y": 48.5, "grid": "g-1", "building": "b-3"} ],
          "members":    [ {"id": "m-1", "x": 118.0, "y": 40.0, "grid": "g-1", "building": "b-3", "max": 15, "min": 10} ],
          "current":    [ {"household": "h-1", "member": "m-1"} ],
          "params":     {"cross_grid": false, "move_penalty": 0}
        }"#;
        let i: Instance = serde_json::from_str(json).unwrap();
        assert_eq!(i.version, FORMAT_VERSION);
        assert_eq!(i.members[0].max, 15);
        assert_eq!(i.current[0].member, "m-1");
    }
}
