//! The care fund (党内关爱基金) as a double-entry ledger: every posting is an
//! entry whose lines sum to zero; balances are derived from the lines, never
//! stored; a correction is a reversing entry, never an edit; a year is closed
//! by moving its income and payment totals into the fund's net assets. The
//! one place for the ledger's rules: the store loads a fund's entries into a
//! [`Ledger`], asks it to post, and writes what it answers.

use crate::code_enum;
use crate::error::FieldError;
use chrono::{Datelike, NaiveDate};

crate::id_types!(
    FundId: "a care fund",
    EntryId: "an entry of a care fund's ledger",
    ApplicationId: "an application for a payment from a care fund",
    CaseId: "a hardship case (困难帮扶档案)",
);

code_enum!(
    /// Help given on a hardship case besides the fund's payments.
    HelpKind {
        Goods = "goods": "物资帮扶",
        Care = "care": "生活照料",
        Visit = "visit": "走访慰问",
        Job = "job": "就业帮扶",
        Other = "other": "其他",
    }
);

code_enum!(
    /// Where money comes from.
    IncomeSource {
        PartyFee = "party_fee": "党费补贴",
        Fiscal = "fiscal": "财政拨款",
        Donation = "donation": "党员募捐",
        Sponsorship = "sponsorship": "社会赞助",
    }
);

code_enum!(
    /// What a payment helps with.
    Purpose {
        Illness = "illness": "因病",
        Disaster = "disaster": "受灾",
        Unemployment = "unemployment": "失业",
        OldAge = "old_age": "年老体弱",
        Disability = "disability": "残疾",
        Bereavement = "bereavement": "丧亲",
        Hardship = "hardship": "突发困难",
    }
);

impl Purpose {
    /// What a publication (公示) may say: never the health or family reason.
    pub fn public_label(self) -> &'static str {
        "生活困难帮扶"
    }
}

/// An amount of money in fen (分), positive. Parsed from yuan with at most two
/// decimals ("1234.5", "1,234.56", "800"); at most 100 million yuan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Money(i64);

/// The largest amount one entry may carry: 100,000,000.00 yuan.
pub const MAX_FEN: i64 = 10_000_000_000;

impl Money {
    pub fn parse(field: &str, raw: &str) -> Result<Money, FieldError> {
        let bad = |why: &str| FieldError::new(field, "money", format!("金额{why}：{}", raw.trim()));
        let s: String = raw.trim().trim_end_matches('元').chars().filter(|c| *c != ',' && *c != '，').collect();
        if s.is_empty() {
            return Err(FieldError::new(field, "required", crate::i18n::REQUIRED));
        }
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s.as_str(), ""),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("应为数字，如 800 或 1234.50"));
        }
        if frac.len() > 2 {
            return Err(bad("最多两位小数"));
        }
        if whole.len() > 9 {
            return Err(bad("超出上限"));
        }
        let yuan: i64 = whole.parse().map_err(|_| bad("应为数字"))?;
        let fen: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
        Money::from_fen(yuan * 100 + fen).ok_or_else(|| bad("应大于 0 且不超过一亿元"))
    }

    /// A positive amount of at most [`MAX_FEN`].
    pub fn from_fen(fen: i64) -> Option<Money> {
        (1..=MAX_FEN).contains(&fen).then_some(Money(fen))
    }

    pub fn fen(self) -> i64 {
        self.0
    }
}

/// Yuan with two decimals, e.g. `1234.50`; negative with a minus sign.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&yuan(self.0))
    }
}

/// An account of a fund's ledger. Debits are positive, credits negative: the
/// bank (cash) account holds a positive balance, income accounts negative
/// ones, payment accounts positive ones, and all of them sum to zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Account {
    Bank,
    Income(IncomeSource),
    Payments(Purpose),
    /// What closed years left (income less payments).
    NetAssets,
}

impl Account {
    pub fn code(self) -> String {
        match self {
            Account::Bank => "bank".into(),
            Account::Income(s) => format!("income:{}", s.code()),
            Account::Payments(p) => format!("payments:{}", p.code()),
            Account::NetAssets => "net_assets".into(),
        }
    }

    pub fn parse(code: &str) -> Option<Account> {
        use crate::CodeEnum;
        match code {
            "bank" => Some(Account::Bank),
            "net_assets" => Some(Account::NetAssets),
            _ => match code.split_once(':')? {
                ("income", s) => IncomeSource::from_code(s).map(Account::Income),
                ("payments", p) => Purpose::from_code(p).map(Account::Payments),
                _ => None,
            },
        }
    }

    pub fn label(self) -> String {
        match self {
            Account::Bank => "银行存款".into(),
            Account::Income(s) => format!("收入·{}", s.label()),
            Account::Payments(p) => format!("支出·{}", p.label()),
            Account::NetAssets => "历年结余".into(),
        }
    }
}

code_enum!(
    /// What an entry records.
    EntryKind {
        Income = "income": "收入",
        Payment = "payment": "支出",
        Reversal = "reversal": "冲销",
        Close = "close": "年度结转",
    }
);

/// One line of an entry: an account and a signed amount in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub account: Account,
    pub amount: i64,
}

/// An entry of the ledger as posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    pub kind: EntryKind,
    pub date: NaiveDate,
    pub lines: Vec<Line>,
    /// The entry a reversal undoes.
    pub reverses: Option<i64>,
}

impl Entry {
    /// What went into (positive) or out of (negative) the bank.
    pub fn bank(&self) -> i64 {
        self.lines.iter().filter(|l| l.account == Account::Bank).map(|l| l.amount).sum()
    }
}

/// What is asked of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posting {
    Income {
        source: IncomeSource,
        amount: Money,
        date: NaiveDate,
    },
    Payment {
        purpose: Purpose,
        amount: Money,
        date: NaiveDate,
    },
    Reverse {
        entry: i64,
        date: NaiveDate,
    },
    /// Close the year: no posting dated in it or before is accepted after.
    Close {
        year: i32,
    },
}

/// Why a posting is refused, with the field it concerns.
pub fn refusal(field: &str, why: &str) -> FieldError {
    FieldError::new(field, "ledger", why)
}

/// The entries of one fund, in the order they were posted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    entries: Vec<Entry>,
    closed_through: Option<i32>,
}

impl Ledger {
    /// A ledger of entries already posted (read back from storage): each must
    /// balance, or the ledger is refused.
    pub fn from_entries(entries: Vec<Entry>) -> Result<Ledger, String> {
        let mut l = Ledger::default();
        for e in entries {
            if e.lines.iter().map(|x| x.amount).sum::<i64>() != 0 {
                return Err(format!("entry {} does not balance", e.id));
            }
            if e.kind == EntryKind::Close {
                l.closed_through = l.closed_through.max(Some(e.date.year()));
            }
            l.entries.push(e);
        }
        Ok(l)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The last year closed.
    pub fn closed_through(&self) -> Option<i32> {
        self.closed_through
    }

    /// The balance of an account: the sum of its lines.
    pub fn balance(&self, a: Account) -> i64 {
        self.entries.iter().flat_map(|e| &e.lines).filter(|l| l.account == a).map(|l| l.amount).sum()
    }

    /// The money in the bank.
    pub fn bank(&self) -> i64 {
        self.balance(Account::Bank)
    }

    /// The bank balance at the end of `date` (for a balance assertion).
    pub fn bank_on(&self, date: NaiveDate) -> i64 {
        self.entries.iter().filter(|e| e.date <= date).map(Entry::bank).sum()
    }

    fn open(&self, field: &str, date: NaiveDate) -> Result<(), FieldError> {
        match self.closed_through {
            Some(y) if date.year() <= y => Err(refusal(field, &format!("{y} 年已结转，不能再记入该年及以前的账"))),
            _ => Ok(()),
        }
    }

    fn is_reversed(&self, id: i64) -> bool {
        self.entries.iter().any(|e| e.reverses == Some(id))
    }

    /// The entry a posting would make, with `id`, or why it is refused.
    /// Nothing changes until [`Ledger::apply`].
    pub fn prepare(&self, id: i64, p: Posting) -> Result<Entry, FieldError> {
        let (kind, date, lines, reverses) = match p {
            Posting::Income { source, amount, date } => {
                self.open("date", date)?;
                let a = amount.fen();
                let lines = vec![
                    Line { account: Account::Bank, amount: a },
                    Line { account: Account::Income(source), amount: -a },
                ];
                (EntryKind::Income, date, lines, None)
            }
            Posting::Payment { purpose, amount, date } => {
                self.open("date", date)?;
                let a = amount.fen();
                if a > self.bank() {
                    return Err(refusal(
                        "amount",
                        &format!("支出 {} 元超过基金余额 {} 元", yuan(a), yuan(self.bank())),
                    ));
                }
                let lines = vec![
                    Line { account: Account::Payments(purpose), amount: a },
                    Line { account: Account::Bank, amount: -a },
                ];
                (EntryKind::Payment, date, lines, None)
            }
            Posting::Reverse { entry, date } => {
                self.open("date", date)?;
                let Some(orig) = self.entries.iter().find(|e| e.id == entry) else {
                    return Err(refusal("entry", "要冲销的账目不存在"));
                };
                if !matches!(orig.kind, EntryKind::Income | EntryKind::Payment) {
                    return Err(refusal("entry", "只能冲销收入或支出"));
                }
                if self.is_reversed(entry) {
                    return Err(refusal("entry", "这笔账已经冲销过"));
                }
                self.open("entry", orig.date)?;
                if date < orig.date {
                    return Err(refusal("date", "冲销日期不能早于原账日期"));
                }
                if self.bank() - orig.bank() < 0 {
                    return Err(refusal("entry", "冲销这笔收入后基金余额将为负"));
                }
                let lines = orig.lines.iter().map(|l| Line { account: l.account, amount: -l.amount }).collect();
                (EntryKind::Reversal, date, lines, Some(entry))
            }
            Posting::Close { year } => {
                if self.closed_through.is_some_and(|y| year <= y) {
                    return Err(refusal("year", &format!("{year} 年已结转")));
                }
                let date = NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(|| refusal("year", "年份不对"))?;
                if self.entries.iter().any(|e| e.date.year() > year) {
                    return Err(refusal("year", "已有以后年度的账目，不能再结转这一年"));
                }
                // Each income and payment account's total of the open years
                // goes to net assets.
                let closing = IncomeSource::ALL
                    .iter()
                    .map(|s| Account::Income(*s))
                    .chain(Purpose::ALL.iter().map(|p| Account::Payments(*p)));
                let mut lines: Vec<Line> = closing
                    .map(|account| Line { account, amount: -self.balance(account) })
                    .filter(|l| l.amount != 0)
                    .collect();
                let net: i64 = lines.iter().map(|l| l.amount).sum();
                if net != 0 || lines.is_empty() {
                    lines.push(Line { account: Account::NetAssets, amount: -net });
                }
                (EntryKind::Close, date, lines, None)
            }
        };
        Ok(Entry { id, kind, date, lines, reverses })
    }

    /// Add an entry made by [`Ledger::prepare`].
    pub fn apply(&mut self, e: Entry) {
        if e.kind == EntryKind::Close {
            self.closed_through = self.closed_through.max(Some(e.date.year()));
        }
        self.entries.push(e);
    }

    /// Prepare and apply.
    pub fn post(&mut self, id: i64, p: Posting) -> Result<&Entry, FieldError> {
        let e = self.prepare(id, p)?;
        self.apply(e);
        Ok(self.entries.last().expect("just pushed"))
    }
}

/// The difference between a bank statement's balance on a date and the
/// ledger's (0: they agree).
pub fn assertion_gap(ledger: &Ledger, date: NaiveDate, statement: i64) -> i64 {
    statement - ledger.bank_on(date)
}

/// How a person is named in a publication: the family name, then 某.
pub fn public_name(name: &str) -> String {
    match name.trim().chars().next() {
        Some(c) => format!("{c}某"),
        None => "某".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }
    fn yuan_of(x: i64) -> Money {
        Money::from_fen(x * 100).unwrap()
    }

    #[test]
    fn money_is_parsed_from_yuan_and_refuses_what_is_not() {
        let f = |s: &str| Money::parse("amount", s).map(Money::fen);
        assert_eq!(f("800"), Ok(80_000));
        assert_eq!(f("1,234.5"), Ok(123_450));
        assert_eq!(f(" 0.01元 "), Ok(1));
        for bad in ["", "0", "-5", "1.234", "abc", "1e3", ".5", "1000000000", "12.3.4"] {
            let e = f(bad).unwrap_err();
            assert_eq!(e.field, "amount", "{bad}");
        }
        assert_eq!(yuan(123_450), "1234.50");
        assert_eq!(yuan(-5), "-0.05");
    }

    #[test]
    fn accounts_round_trip_through_their_codes() {
        let mut all = vec![Account::Bank, Account::NetAssets];
        all.extend(IncomeSource::ALL.iter().map(|s| Account::Income(*s)));
        all.extend(Purpose::ALL.iter().map(|p| Account::Payments(*p)));
        for a in all {
            assert_eq!(Account::parse(&a.code()), Some(a));
        }
        assert_eq!(Account::parse("income:nope"), None);
    }

    #[test]
    fn a_payment_above_the_balance_a_double_reversal_and_a_closed_year_are_refused() {
        let mut l = Ledger::default();
        l.post(1, Posting::Income { source: IncomeSource::PartyFee, amount: yuan_of(1000), date: d(2025, 3, 1) })
            .unwrap();
        let e =
            l.prepare(2, Posting::Payment { purpose: Purpose::Illness, amount: yuan_of(1001), date: d(2025, 4, 1) });
        assert_eq!(e.unwrap_err().field, "amount");
        l.post(2, Posting::Payment { purpose: Purpose::Illness, amount: yuan_of(600), date: d(2025, 4, 1) }).unwrap();
        // Reversing the income would leave the fund below zero.
        assert_eq!(l.prepare(3, Posting::Reverse { entry: 1, date: d(2025, 5, 1) }).unwrap_err().field, "entry");
        l.post(3, Posting::Reverse { entry: 2, date: d(2025, 5, 1) }).unwrap();
        assert_eq!(l.bank(), 100_000);
        assert!(l.prepare(4, Posting::Reverse { entry: 2, date: d(2025, 5, 2) }).is_err(), "twice");
        assert!(l.prepare(4, Posting::Reverse { entry: 3, date: d(2025, 5, 2) }).is_err(), "a reversal");
        assert!(l.prepare(4, Posting::Reverse { entry: 99, date: d(2025, 5, 2) }).is_err(), "missing");
        l.post(4, Posting::Close { year: 2025 }).unwrap();
        assert_eq!(l.balance(Account::Income(IncomeSource::PartyFee)), 0);
        assert_eq!(l.balance(Account::NetAssets), -100_000);
        assert_eq!(l.bank(), 100_000, "closing moves no money");
        let late = Posting::Income { source: IncomeSource::Fiscal, amount: yuan_of(1), date: d(2025, 12, 31) };
        assert_eq!(l.prepare(5, late).unwrap_err().field, "date");
        assert!(l.prepare(5, Posting::Close { year: 2025 }).is_err());
        assert_eq!(assertion_gap(&l, d(2025, 4, 30), 40_000), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Income(usize, i64, u32),
        Payment(usize, i64, u32),
        Reverse(usize, u32),
        Close,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..4usize, 1..50_000i64, 0..400u32).prop_map(|(s, a, day)| Op::Income(s, a, day)),
            4 => (0..7usize, 1..50_000i64, 0..400u32).prop_map(|(p, a, day)| Op::Payment(p, a, day)),
            2 => (0..40usize, 0..30u32).prop_map(|(i, day)| Op::Reverse(i, day)),
            1 => Just(Op::Close),
        ]
    }

    proptest! {
        /// After any sequence of postings, reversals and closes (refused ones
        /// change nothing): every entry balances, all accounts sum to zero,
        /// the bank is never below zero and equals income less payments, and
        /// a closed year's income and payment accounts are empty.
        #[test]
        fn the_ledger_always_balances(ops in proptest::collection::vec(op(), 1..60)) {
            let mut l = Ledger::default();
            let mut year = 2024;
            let mut id = 0;
            let start = |y: i32| NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
            for o in ops {
                id += 1;
                let day = |n: u32| start(year) + chrono::Duration::days(i64::from(n % 365));
                let p = match o {
                    Op::Income(s, a, n) => Posting::Income { source: IncomeSource::ALL[s], amount: Money::from_fen(a).unwrap(), date: day(n) },
                    Op::Payment(p, a, n) => Posting::Payment { purpose: Purpose::ALL[p], amount: Money::from_fen(a).unwrap(), date: day(n) },
                    Op::Reverse(i, n) => {
                        let Some(e) = l.entries().get(i % l.entries().len().max(1)) else { continue };
                        Posting::Reverse { entry: e.id, date: e.date + chrono::Duration::days(i64::from(n)) }
                    }
                    Op::Close => Posting::Close { year },
                };
                let before = l.clone();
                match l.post(id, p) {
                    Ok(e) => {
                        if e.kind == EntryKind::Close { year += 1; }
                    }
                    Err(_) => prop_assert_eq!(&l, &before, "a refused posting changed the ledger"),
                }
                for e in l.entries() {
                    prop_assert_eq!(e.lines.iter().map(|x| x.amount).sum::<i64>(), 0, "entry {} balances", e.id);
                }
                prop_assert!(l.bank() >= 0, "bank {}", l.bank());
                let income: i64 = IncomeSource::ALL.iter().map(|s| l.balance(Account::Income(*s))).sum();
                let paid: i64 = Purpose::ALL.iter().map(|p| l.balance(Account::Payments(*p))).sum();
                prop_assert_eq!(l.bank() + income + paid + l.balance(Account::NetAssets), 0);
                // Derived from the entries, whatever order they are read in.
                let again = Ledger::from_entries(l.entries().iter().rev().cloned().collect()).unwrap();
                prop_assert_eq!(again.bank(), l.bank());
                if let Some(y) = l.closed_through() {
                    let open_lines: i64 = l.entries().iter().filter(|e| e.date.year() > y)
                        .flat_map(|e| &e.lines).filter(|x| x.account != Account::Bank).map(|x| x.amount).sum();
                    prop_assert_eq!(income + paid, open_lines, "only open years' income and payments remain");
                }
            }
        }
    }

    #[test]
    fn publications_name_the_family_only() {
        assert_eq!(public_name("王秀英"), "王某");
        assert_eq!(Purpose::Illness.public_label(), "生活困难帮扶");
    }
}
