//! Commendations (评选表彰) and warnings for members who do not fulfil their
//! duties (警示 / 不合格党员): their states and the one table of what may
//! follow what. The store checks who acts and writes each step.

use crate::code_enum;
use crate::error::FieldError;

crate::id_types!(
    RoundId: "a commendation round (one title, one year, one nominating window)",
    NominationId: "a member nominated in a commendation round",
    WarningId: "the warning case of one member",
);

code_enum!(
    /// The titles a round commends; `custom` carries its own title.
    CommendationKind {
        CentralHousehold = "central_household": "最美党员中心户",
        NeighbourhoodChief = "neighbourhood_chief": "最美街坊主事",
        Volunteer = "volunteer": "最美义工",
        Custom = "custom": "自定义",
    }
);

code_enum!(
    /// A round: nominations accepted (within its window) and reviewed, then published.
    RoundState {
        Open = "open": "评选中",
        Published = "published": "已公布",
    }
);

code_enum!(
    /// A nomination on its way up the levels.
    NominationState {
        Pending = "pending": "审核中",
        Approved = "approved": "通过",
        Rejected = "rejected": "未通过",
    }
);

code_enum!(
    /// A step of a nomination.
    NominationStep {
        Nominated = "nominated": "提名",
        Passed = "passed": "本级审核通过，报上级",
        Approved = "approved": "评选通过",
        Rejected = "rejected": "未通过",
    }
);

code_enum!(
    /// Where a member's warning case stands. Proposed from the records, every
    /// later state is a decision by a named person.
    WarningState {
        Proposed = "proposed": "待认定",
        Warned = "warned": "警示",
        Helping = "helping": "帮扶中",
        Unqualified = "unqualified": "不合格",
        Rectifying = "rectifying": "限期改正",
        PersuadeProposed = "persuade_proposed": "建议劝退",
        RemovalProposed = "removal_proposed": "建议除名",
        Lifted = "lifted": "已解除",
        Corrected = "corrected": "已改正",
        Dismissed = "dismissed": "不予认定",
        Persuaded = "persuaded": "已劝退",
        Removed = "removed": "已除名",
    }
);

code_enum!(
    /// A decision on a warning case.
    WarningAction {
        Warn = "warn": "认定为警示党员",
        Unqualify = "unqualify": "认定为不合格党员",
        Dismiss = "dismiss": "不予认定",
        Help = "help": "开展帮扶",
        Lift = "lift": "解除警示",
        Rectify = "rectify": "限期改正（一年）",
        Correct = "correct": "经考察已改正",
        ProposePersuade = "propose_persuade": "提出劝退",
        ProposeRemoval = "propose_removal": "提出除名",
        Persuaded = "persuaded": "劝退决定",
        Removed = "removed": "除名决定",
        Decline = "decline": "不同意劝退或除名（回到不合格）",
    }
);

/// How long a helping period runs before it is reviewed (months).
pub const HELP_MONTHS: u32 = 3;
/// The rectification period: one year, never extended.
pub const RECTIFY_MONTHS: u32 = 12;
/// Days given to decide on a proposal to persuade or remove.
pub const DECIDE_DAYS: i64 = 30;

impl WarningState {
    /// The case is over.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            WarningState::Lifted
                | WarningState::Corrected
                | WarningState::Dismissed
                | WarningState::Persuaded
                | WarningState::Removed
        )
    }

    /// The decisions open from this state.
    pub fn actions(self) -> &'static [WarningAction] {
        use WarningAction as A;
        match self {
            WarningState::Proposed => &[A::Warn, A::Unqualify, A::Dismiss],
            WarningState::Warned => &[A::Help, A::Lift, A::Unqualify],
            WarningState::Helping => &[A::Lift, A::Unqualify],
            WarningState::Unqualified => &[A::Rectify, A::ProposePersuade, A::ProposeRemoval],
            WarningState::Rectifying => &[A::Correct, A::ProposePersuade, A::ProposeRemoval],
            WarningState::PersuadeProposed => &[A::Persuaded, A::ProposeRemoval, A::Decline],
            WarningState::RemovalProposed => &[A::Removed, A::Decline],
            _ => &[],
        }
    }

    /// What a decision leads to, or the reason it cannot be taken here. The
    /// rectification period is given once to a member and never extended:
    /// `rectified_before` says whether the member ever had one (in this case
    /// or an earlier one).
    pub fn apply(self, a: WarningAction, rectified_before: bool) -> Result<WarningState, FieldError> {
        if a == WarningAction::Rectify && (rectified_before || self == WarningState::Rectifying) {
            return Err(FieldError::new("action", "state", "限期改正期为一年，只能给一次，不能延长"));
        }
        if !self.actions().contains(&a) {
            return Err(FieldError::new("action", "state", format!("「{}」时不能「{}」", self.label(), a.label())));
        }
        use WarningAction as A;
        Ok(match a {
            A::Warn => WarningState::Warned,
            A::Unqualify | A::Decline => WarningState::Unqualified,
            A::Dismiss => WarningState::Dismissed,
            A::Help => WarningState::Helping,
            A::Lift => WarningState::Lifted,
            A::Rectify => WarningState::Rectifying,
            A::Correct => WarningState::Corrected,
            A::ProposePersuade => WarningState::PersuadeProposed,
            A::ProposeRemoval => WarningState::RemovalProposed,
            A::Persuaded => WarningState::Persuaded,
            A::Removed => WarningState::Removed,
        })
    }
}

/// Decisions only an assessor above the member's organisation takes, and
/// never the one who proposed them.
pub fn decided_above(a: WarningAction) -> bool {
    matches!(a, WarningAction::Persuaded | WarningAction::Removed | WarningAction::Decline)
}

/// Why a member is proposed for a warning, found in the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Ground {
    /// Absent without excuse from every organisational-life meeting of the last six months.
    NoOrgLife,
    /// Responsible for households and visited none of them in six months.
    ContactsNotMet,
}

impl Ground {
    pub fn label(self) -> &'static str {
        match self {
            Ground::NoOrgLife => "近六个月未参加组织生活且未请假",
            Ground::ContactsNotMet => "近六个月未走访所联系的户",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rectification_is_given_once() {
        let s = WarningState::Proposed.apply(WarningAction::Unqualify, false).unwrap();
        let s = s.apply(WarningAction::Rectify, false).unwrap();
        assert_eq!(s, WarningState::Rectifying);
        let e = s.apply(WarningAction::Rectify, true).unwrap_err();
        assert!(e.message.contains("不能延长"), "{}", e.message);
        // Declined removal goes back to unqualified, where no second year is given.
        let s = s.apply(WarningAction::ProposeRemoval, true).unwrap().apply(WarningAction::Decline, true).unwrap();
        assert_eq!(s, WarningState::Unqualified);
        assert!(s.apply(WarningAction::Rectify, true).is_err());
    }

    proptest! {
        /// Whatever decisions are tried in whatever order: closed cases take no
        /// more decisions, and rectification is entered at most once.
        #[test]
        fn paths_stay_on_the_table(tries in proptest::collection::vec(0usize..12, 0..30)) {
            let mut s = WarningState::Proposed;
            let mut rectified = 0;
            for t in tries {
                let a = WarningAction::ALL[t];
                match s.apply(a, rectified > 0) {
                    Ok(n) => {
                        prop_assert!(!s.is_closed());
                        if n == WarningState::Rectifying { rectified += 1; }
                        s = n;
                    }
                    Err(e) => prop_assert_eq!(e.field.as_str(), "action"),
                }
            }
            prop_assert!(rectified <= 1);
            if s.is_closed() { prop_assert!(s.actions().is_empty()); }
        }
    }
}
