//! Registry rows back to raw input (for PATCH and edit forms), and one `Validate`
//! trait over the domain's raw input structs.

use redcell_domain::Invalid;
use redcell_domain::ids::*;
use redcell_domain::input::*;
use redcell_store::registry::{
    buildings::Building, cadres::Cadre, grids::Grid, households::Household, members::Member, orgs::Org,
    residents::Resident, units::Unit,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Validate raw input into the domain's typed record.
pub trait Validate: Serialize + DeserializeOwned + Default + Clone {
    type New: Send;
    fn check(&self) -> Result<Self::New, Invalid>;
}

macro_rules! validate {
    ($($raw:ty => $new:ty, $today:tt);+ $(;)?) => {$(
        impl Validate for $raw {
            type New = $new;
            fn check(&self) -> Result<$new, Invalid> { validate!(@call self, $today) }
        }
    )+};
    (@call $s:ident, today) => { $s.validate(crate::today()) };
    (@call $s:ident, plain) => { $s.validate() };
}

validate!(
    RawOrg => NewOrg, plain;
    RawGrid => NewGrid, plain;
    RawBuilding => NewBuilding, plain;
    RawHousehold => NewHousehold, plain;
    RawResident => NewResident, today;
    RawMember => NewMember, today;
    RawCadre => NewCadre, plain;
    RawUnit => NewUnit, plain;
);

fn o<T: ToString>(v: T) -> Option<String> {
    Some(v.to_string())
}

fn oo<T: ToString>(v: Option<T>) -> Option<String> {
    v.map(|x| x.to_string())
}

/// Overlay a JSON patch onto raw input built from the stored row. Keys not in
/// the patch keep their stored value; `null` clears a field.
pub fn merge<R: Validate>(base: &R, patch: serde_json::Value) -> Result<R, String> {
    let mut b = serde_json::to_value(base).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(p) = patch else {
        return Err("需要一个JSON对象".into());
    };
    if let serde_json::Value::Object(m) = &mut b {
        for (k, v) in p {
            if !m.contains_key(&k) {
                return Err(format!("未知字段：{k}"));
            }
            m.insert(k, v);
        }
    }
    serde_json::from_value(b).map_err(|e| e.to_string())
}

pub fn org(r: &Org) -> RawOrg {
    RawOrg {
        parent_id: oo(r.parent_id),
        kind: o(r.kind.code()),
        code: o(&r.code),
        name: o(&r.name),
        secretary: r.secretary.clone(),
        phone: r.phone.as_ref().map(|p| p.reveal().to_string()),
    }
}

pub fn grid(r: &Grid) -> RawGrid {
    RawGrid { org_id: o(r.org_id), code: o(&r.code), name: o(&r.name), description: r.description.clone() }
}

pub fn building(r: &Building) -> RawBuilding {
    RawBuilding {
        grid_id: o(r.grid_id),
        name: o(&r.name),
        address: o(&r.address),
        units: o(r.units),
        floors: o(r.floors),
        x: o(r.x),
        y: o(r.y),
        lat: oo(r.lat),
        lon: oo(r.lon),
    }
}

pub fn household(r: &Household) -> RawHousehold {
    RawHousehold {
        building_id: o(r.building_id),
        unit_no: o(r.unit_no),
        room: o(&r.room),
        note: r.note.clone(),
        tags: Some(r.tag_set().iter().map(|t| t.code().to_string()).collect()),
    }
}

/// Internal use only: carries the clear ID number and phone so that a patch
/// that does not touch them keeps them. Never rendered.
pub fn resident(r: &Resident) -> RawResident {
    RawResident {
        household_id: oo(r.household_id),
        org_id: o(r.org_id),
        name: o(&r.name),
        gender: o(r.gender.code()),
        birth_date: o(r.birth_date),
        id_number: o(r.id_number.reveal()),
        phone: r.phone.as_ref().map(|p| p.reveal().to_string()),
        note: r.note.clone(),
    }
}

pub fn member(r: &Member) -> RawMember {
    RawMember {
        resident_id: o(r.resident_id),
        org_id: o(r.org_id),
        category: o(r.category.code()),
        status: o(r.status.code()),
        joined_on: oo(r.joined_on),
        work_unit: r.work_unit.clone(),
        skills: r.skills.clone(),
        interests: r.interests.clone(),
        free_time: r.free_time.clone(),
        central_household: o(r.central_household),
        party_post: r.party_post.as_ref().map(|c| c.0.code().to_string()),
        education: r.education.as_ref().map(|c| c.0.code().to_string()),
        social_worker_cert: o(r.social_worker_cert),
        cross_appointed: o(r.cross_appointed),
        training_days: r
            .training_days
            .filter(|_| r.training_year == Some(i64::from(chrono::Datelike::year(&crate::today()))))
            .map(|d| d.to_string()),
    }
}

pub fn cadre(r: &Cadre, stations: &[(OrgId, String)]) -> RawCadre {
    RawCadre {
        org_id: o(r.org_id),
        kind: o(r.kind.code()),
        name: o(&r.name),
        phone: r.phone.as_ref().map(|p| p.reveal().to_string()),
        public_phone: r.public_phone.clone(),
        title: r.title.clone(),
        member_id: oo(r.member_id),
        stations: Some(stations.iter().map(|s| s.0.get()).collect()),
    }
}

pub fn unit(r: &Unit) -> RawUnit {
    RawUnit {
        grid_id: o(r.grid_id),
        kind: o(r.kind.code()),
        name: o(&r.name),
        address: r.address.clone(),
        contact: r.contact.clone(),
        phone: r.phone.as_ref().map(|p| p.reveal().to_string()),
    }
}

use redcell_store::registry as reg;
use redcell_store::{Db, Principal, StoreError};

macro_rules! base_loader {
    ($($name:ident: $module:ident, $id:ty => $conv:ident -> $raw:ty);+ $(;)?) => {$(
        /// The stored row as raw input (the base a PATCH applies to).
        pub async fn $name(db: &Db, p: &Principal, id: $id) -> Result<$raw, StoreError> {
            Ok($conv(&reg::$module::get(db, p, id).await?))
        }
    )+};
}

base_loader!(
    org_base: orgs, OrgId => org -> RawOrg;
    grid_base: grids, GridId => grid -> RawGrid;
    building_base: buildings, BuildingId => building -> RawBuilding;
    household_base: households, HouseholdId => household -> RawHousehold;
    resident_base: residents, ResidentId => resident -> RawResident;
    member_base: members, MemberId => member -> RawMember;
    unit_base: units, UnitId => unit -> RawUnit;
);

pub async fn cadre_base(db: &Db, p: &Principal, id: CadreId) -> Result<RawCadre, StoreError> {
    let c = reg::cadres::get(db, p, id).await?;
    let st = reg::cadres::stations(db, p, id).await?;
    Ok(cadre(&c, &st))
}
