//! What an import will change, computed from the validated records and what is stored.
//! Keyed by code: new codes are added, changed or re-appearing ones updated, and active
//! ones missing from the file deactivated. Nothing is deleted.

use std::collections::{HashMap, HashSet};

use lantoa_domain::roster::{ExistingStaff, ExistingUnit, Plan, StaffRecord, UnitRecord};

fn plan<R, E>(
    records: Vec<R>,
    existing: &[E],
    record_code: impl Fn(&R) -> &str,
    existing_code: impl Fn(&E) -> &str,
    is_active: impl Fn(&E) -> bool,
    same: impl Fn(&R, &E) -> bool,
) -> Plan<R> {
    let stored: HashMap<&str, &E> = existing.iter().map(|e| (existing_code(e), e)).collect();
    let in_file: HashSet<&str> = records.iter().map(&record_code).collect();
    let mut deactivated: Vec<String> = existing
        .iter()
        .filter(|e| is_active(e) && !in_file.contains(existing_code(e)))
        .map(|e| existing_code(e).to_string())
        .collect();
    deactivated.sort();
    let mut result = Plan {
        added: Vec::new(),
        updated: Vec::new(),
        deactivated,
        unchanged: 0,
    };
    for record in records {
        match stored.get(record_code(&record)) {
            None => result.added.push(record),
            Some(e) if is_active(e) && same(&record, e) => result.unchanged += 1,
            Some(_) => result.updated.push(record),
        }
    }
    result
}

pub fn plan_units(records: Vec<UnitRecord>, existing: &[ExistingUnit]) -> Plan<UnitRecord> {
    plan(
        records,
        existing,
        |r| &r.code,
        |e| &e.code,
        |e| e.active,
        |r, e| {
            r.name == e.name
                && r.kind == e.kind
                && r.parent_code == e.parent_code
                && r.page_urls == e.page_urls
                && r.weekly_quota == e.weekly_quota
        },
    )
}

pub fn plan_staff(records: Vec<StaffRecord>, existing: &[ExistingStaff]) -> Plan<StaffRecord> {
    plan(
        records,
        existing,
        |r| &r.code,
        |e| &e.code,
        |e| e.active,
        |r, e| {
            r.full_name == e.full_name
                && r.unit_code == e.unit_code
                && r.role == e.role
                && r.phone == e.phone
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantoa_domain::Role;

    fn record(code: &str, unit: &str) -> StaffRecord {
        StaffRecord {
            line: 2,
            code: code.into(),
            full_name: format!("Người {code}"),
            unit_code: unit.into(),
            role: Role::Member,
            phone: None,
        }
    }

    fn stored(code: &str, unit: &str, active: bool) -> ExistingStaff {
        ExistingStaff {
            code: code.into(),
            full_name: format!("Người {code}"),
            unit_code: unit.into(),
            role: Role::Member,
            phone: None,
            active,
        }
    }

    #[test]
    fn keyed_by_code() {
        let existing = [
            stored("A", "T1", true),
            stored("B", "T1", true),
            stored("C", "T1", true),
            stored("D", "T1", false),
            stored("E", "T1", false),
        ];
        let plan = plan_staff(
            vec![
                record("A", "T1"),
                record("B", "T2"),
                record("D", "T1"),
                record("F", "T1"),
            ],
            &existing,
        );
        let codes =
            |records: &[StaffRecord]| records.iter().map(|r| r.code.clone()).collect::<Vec<_>>();
        assert_eq!(codes(&plan.added), ["F"]);
        assert_eq!(codes(&plan.updated), ["B", "D"], "moved, and reactivated");
        assert_eq!(plan.deactivated, ["C"], "E was already inactive");
        assert_eq!(plan.unchanged, 1);
    }
}
