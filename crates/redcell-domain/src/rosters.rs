//! Rosters (花名册) in: the kinds of import, their columns (Chinese headers,
//! matched by name in any order), header matching and cell normalisation.
//! Pure: the readers live in `redcell-docs`, the upsert in `redcell-store`.

use crate::error::FieldError;
use crate::{CadreKind, Gender, HouseholdTag, MemberCategory, MemberStatus, OrgKind, i18n};
use chrono::NaiveDate;

crate::code_enum!(
    /// What a roster file holds.
    ImportKind {
        Orgs = "orgs": "组织",
        Grids = "grids": "网格和楼栋",
        Households = "households": "住户和居民",
        Members = "members": "党员",
        Cadres = "cadres": "干部",
        Contacts = "contacts": "联系关系",
        Inservice = "inservice": "在职党员报到",
        Mobility = "mobility": "流动党员登记卡",
    }
);

/// One column of a roster: `key` is the field name the domain validators use
/// (so their errors name the column), `header` the Chinese header in the sheet.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub key: &'static str,
    pub header: &'static str,
    pub required: bool,
    /// Shown as the header cell's note in the template.
    pub note: &'static str,
    /// An example value for the template's example rows.
    pub example: &'static str,
    pub example2: &'static str,
}

const fn col(
    key: &'static str,
    header: &'static str,
    required: bool,
    note: &'static str,
    example: &'static str,
    example2: &'static str,
) -> Column {
    Column { key, header, required, note, example, example2 }
}

/// The extra column the error sheet adds; ignored when the sheet comes back.
pub const ERROR_HEADER: &str = "错误说明";

const ORGS: &[Column] = &[
    col("code", "组织编码", true, "唯一编码，字母数字；已存在的编码将被更新", "SQ-001", "SQ-001-1"),
    col("name", "组织名称", true, "", "幸福社区党委", "幸福社区第一党支部"),
    col("kind", "组织类型", true, "从下拉列表选择", "社区党委", "街坊党支部"),
    col("parent_code", "上级组织编码", true, "必须已存在，或在本文件中（任意行）", "", "SQ-001"),
    col("secretary", "书记", false, "", "王芳", ""),
    col("phone", "联系电话", false, "11位手机号或带区号的固定电话", "13800138000", ""),
];

const GRIDS: &[Column] = &[
    col("code", "网格编码", true, "唯一编码；同一网格可占多行（每行一栋楼）", "WG-01", "WG-01"),
    col("name", "网格名称", true, "", "第一网格", "第一网格"),
    col("org_code", "所属组织编码", true, "必须已存在", "SQ-001", "SQ-001"),
    col("description", "网格说明", false, "", "幸福路以东", "幸福路以东"),
    col("building", "楼栋名称", false, "留空则只导入网格", "1幢", "2幢"),
    col("address", "楼栋地址", false, "填写楼栋名称时必填", "幸福路1号", "幸福路3号"),
    col("units", "单元数", false, "1–50，默认1", "2", "3"),
    col("floors", "层数", false, "1–200，默认1", "6", "18"),
];

const HOUSEHOLDS: &[Column] = &[
    col("grid_code", "网格编码", true, "必须已存在（先导入网格和楼栋）", "WG-01", "WG-01"),
    col("building", "楼栋名称", true, "必须是该网格中已有的楼栋", "1幢", "1幢"),
    col("unit_no", "单元", false, "数字，默认1", "1", "1"),
    col("room", "房号", true, "同一楼栋单元房号相同的行属于同一户", "301", "301"),
    col("tags", "户标签", false, "多个用顿号分隔：困难家庭、失业、孤寡/空巢老人……", "困难家庭", ""),
    col("name", "姓名", true, "每行一位居民", "张三", "李四"),
    col(
        "id_number",
        "身份证号",
        true,
        "18位；请把本列设为文本格式，存成数字会丢失末几位",
        "990101198001010014",
        "990101198203150023",
    ),
    col("gender", "性别", false, "可留空，按身份证号", "男", "女"),
    col("birth_date", "出生日期", false, "可留空，按身份证号；格式 2020-01-31", "1980-01-01", ""),
    col("phone", "联系电话", false, "", "13800138000", ""),
    col("note", "备注", false, "", "", ""),
];

const MEMBERS: &[Column] = &[
    col(
        "id_number",
        "身份证号",
        true,
        "18位，校验位和出生日期须正确；已登记的居民按身份证号关联，未登记的将新建居民（须填姓名）",
        "990101198001010014",
        "990101198203150023",
    ),
    col("name", "姓名", false, "须与已登记居民一致；未登记的居民必填", "张三", "李四"),
    col("birth_date", "出生日期", false, "可留空，按身份证号；填写时须与身份证号一致", "1980-01-01", ""),
    col("phone", "联系电话", false, "留空则保留已登记的电话", "13800138000", ""),
    col("org_code", "所在党组织编码", true, "必须已存在", "SQ-001-1", "SQ-001-1"),
    col("category", "党员类别", true, "从下拉列表选择；流动党员选“流动党员”", "农民/社区党员", "流动党员"),
    col("status", "党员状态", false, "正式党员/预备党员，默认正式党员", "正式党员", "预备党员"),
    col("joined_on", "入党日期", false, "格式 2020-01-31；须在年满18岁之后", "2001-07-01", "2025-07-01"),
    col("work_unit", "工作单位", false, "在职党员填写（有工作单位即为在职党员）", "", "幸福路小学"),
    col("skills", "特长", false, "", "", ""),
    col("interests", "兴趣", false, "", "", ""),
    col("free_time", "空闲时间", false, "", "", ""),
    col("central_household", "中心户", false, "是/否；留空则保留原值（新党员为否）", "否", "是"),
    col("party_post", "党内职务", false, "书记/副书记/委员；留空则保留原值", "", "委员"),
    col("education", "学历", false, "小学/初中/高中/中专/大专/本科/研究生；留空则保留原值", "大专", ""),
    col("social_worker_cert", "社工证", false, "持社会工作者职业水平证书填是；留空则保留原值", "", "否"),
    col("cross_appointed", "两委交叉任职", false, "是/否；留空则保留原值", "", ""),
    col("training_days", "本年度培训天数", false, "0 到 366；留空则保留原值", "", "7"),
];

const CADRES: &[Column] = &[
    col("name", "姓名", true, "", "赵六", "钱七"),
    col("org_code", "所属组织编码", true, "必须已存在", "SQ-001", "SQ-001"),
    col("kind", "干部类型", true, "从下拉列表选择", "街道干部", "班子成员"),
    col("phone", "联系电话", false, "同一组织内姓名+电话相同视为同一人", "13900139000", "13900139001"),
    col("title", "职务", false, "", "组织委员", "副主任"),
    col("id_number", "党员身份证号", false, "干部是党员时填写，关联到已登记的党员；同一组织内按此识别同一人", "", ""),
];

const INSERVICE: &[Column] = &[
    col(
        "id_number",
        "党员身份证号",
        true,
        "必须是已登记的党员；同一党员已在本组织报到的，按本行更新单位信息",
        "990101198001010014",
        "990101198203150023",
    ),
    col("name", "姓名", false, "填写时须与登记的姓名一致", "张三", "李四"),
    col("org_code", "报到组织编码", true, "居住地社区或其下的组织，必须已存在", "SQ-001", "SQ-001"),
    col("employer", "工作单位", true, "", "区人民医院", "幸福路小学"),
    col("employer_org", "单位党组织", true, "接收季度反馈卡的党组织", "区人民医院党委", "幸福路小学党支部"),
    col("employer_phone", "单位联系电话", false, "11位手机号或带区号的固定电话", "0571-86001234", ""),
    col("reported_on", "报到日期", false, "格式 2026-03-01；默认今天，不能晚于今天", "2026-03-01", ""),
];

const MOBILITY: &[Column] = &[
    col("direction", "类别", true, "流出：本组织党员外出；流入：党员到本组织来", "流出", "流入"),
    col("id_number", "党员身份证号", true, "必须是已登记的党员", "990101198001010014", "990101198203150023"),
    col("name", "姓名", false, "填写时须与登记的姓名一致", "张三", "李四"),
    col("org_code", "登记组织编码", false, "流入必填（接收的组织）；流出不填即党员所在组织", "", "SQ-001-1"),
    col("paired_card_no", "对应流出登记卡号", false, "流入时：本街道其他支部流出的党员带来的卡号", "", ""),
    col("card_no", "登记卡号", true, "字母、数字和连字符；已导入的卡号按本行更新", "LC-2026-001", "LR-2026-001"),
    col("place", "流向或来处", true, "省市县、单位", "广东省深圳市", "浙江省温州市"),
    col("reason", "原因", true, "如务工、经商、就学", "外出务工", "来本社区居住"),
    col("started_on", "开始日期", false, "格式 2026-03-01；默认今天，不能晚于今天", "2026-03-01", "2026-02-15"),
    col("expected_until", "预计返回日期", false, "可不填", "2026-12-31", ""),
    col("channel", "联系方式", true, "电话、微信群等", "微信群：幸福社区流动党员群", "13800138000"),
    col("other_org", "对方党组织", false, "流入地或原所在的党组织，知道就填", "", ""),
    col("last_contact", "最近联系日期", false, "填写后记一次联系；半年没有联系的会标为失去联系", "2026-05-20", ""),
    col("last_channel", "最近联系途径", false, "从下拉列表选择；默认电话", "群聊", ""),
];

const CONTACTS: &[Column] = &[
    col("level", "联系层级", true, "从下拉列表选择；其余各列按层级填写", "党员联系户", "街道干部联系党员"),
    col(
        "member_id_number",
        "党员身份证号",
        false,
        "联系人是党员时（党员联系户、中心户、党小组长、委员）必填",
        "990101198001010014",
        "",
    ),
    col("cadre_name", "干部姓名", false, "联系人是街道干部或包社领导时必填", "", "赵六"),
    col("cadre_org_code", "干部所属组织编码", false, "与干部姓名一起识别干部", "", "SQ-001"),
    col("grid_code", "网格编码", false, "联系住户时必填：被联系住户所在网格", "WG-01", ""),
    col("building", "楼栋名称", false, "联系住户时必填", "1幢", ""),
    col("unit_no", "单元", false, "默认1", "1", ""),
    col("room", "房号", false, "联系住户时必填", "302", ""),
    col("to_id_number", "被联系党员身份证号", false, "联系党员或中心户时必填", "", "990101198203150023"),
    col("to_org_code", "被联系组织编码", false, "联系党小组、支部或社区时必填", "", ""),
    col("since", "开始日期", false, "默认今天，不能晚于今天", "2026-01-01", "2026-01-01"),
];

pub fn columns(kind: ImportKind) -> &'static [Column] {
    match kind {
        ImportKind::Orgs => ORGS,
        ImportKind::Grids => GRIDS,
        ImportKind::Households => HOUSEHOLDS,
        ImportKind::Members => MEMBERS,
        ImportKind::Cadres => CADRES,
        ImportKind::Contacts => CONTACTS,
        ImportKind::Inservice => INSERVICE,
        ImportKind::Mobility => MOBILITY,
    }
}

/// The kinds whose import is implemented (the others have templates only).
pub fn importable(kind: ImportKind) -> bool {
    match kind {
        ImportKind::Orgs
        | ImportKind::Grids
        | ImportKind::Households
        | ImportKind::Members
        | ImportKind::Cadres
        | ImportKind::Contacts
        | ImportKind::Inservice
        | ImportKind::Mobility => true,
    }
}

/// The drop-down choices of a column (enumerations), as Chinese labels.
pub fn choices(kind: ImportKind, key: &str) -> Vec<&'static str> {
    fn labels<T: crate::CodeEnum>(all: &[T]) -> Vec<&'static str> {
        all.iter().map(|x| x.label()).collect()
    }
    match (kind, key) {
        (ImportKind::Orgs, "kind") => labels(OrgKind::ALL),
        (ImportKind::Households, "gender") => labels(Gender::ALL),
        (ImportKind::Households, "tags") => labels(HouseholdTag::ALL),
        (ImportKind::Members, "category") => labels(MemberCategory::ALL),
        (ImportKind::Members, "status") => labels(MemberStatus::ALL),
        (ImportKind::Members, "central_household") => vec!["是", "否"],
        (ImportKind::Cadres, "kind") => labels(CadreKind::ALL),
        (ImportKind::Contacts, "level") => labels(crate::coverage::ContactLevel::ALL),
        (ImportKind::Mobility, "direction") => labels(crate::mobility::Direction::ALL),
        (ImportKind::Mobility, "last_channel") => labels(crate::mobility::ContactChannel::ALL),
        _ => Vec::new(),
    }
}

/// Where each column of `kind` sits in a header row (`None`: not present).
/// Headers match after trimming spaces (full-width too); order is free;
/// unknown headers are ignored. A missing required header is an error that
/// names it; a header given twice is an error too.
pub fn match_headers(kind: ImportKind, headers: &[String]) -> Result<Vec<Option<usize>>, Vec<FieldError>> {
    let norm: Vec<String> = headers.iter().map(|h| clean_header(h)).collect();
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for c in columns(kind) {
        let hits: Vec<usize> =
            norm.iter().enumerate().filter(|(_, h)| h.as_str() == c.header).map(|(i, _)| i).collect();
        match hits.as_slice() {
            [] if c.required => {
                errors.push(FieldError::new(c.key, "header", format!("{}：{}", i18n::IMPORT_HEADER_MISSING, c.header)))
            }
            [] => out.push(None),
            [i] => out.push(Some(*i)),
            _ => errors.push(FieldError::new(c.key, "header", format!("{}：{}", i18n::IMPORT_HEADER_TWICE, c.header))),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn clean_header(h: &str) -> String {
    h.chars().filter(|c| !c.is_whitespace() && *c != '*' && *c != '\u{feff}').collect()
}

/// The header of the column whose validator field is `key` (the key itself
/// when the kind has no such column).
pub fn header_of(kind: ImportKind, key: &str) -> &'static str {
    columns(kind).iter().find(|c| c.key == key).map(|c| c.header).unwrap_or("")
}

/// An Excel serial day number (1900 date system) as a date.
pub fn excel_serial_date(serial: f64) -> Option<NaiveDate> {
    if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    base.checked_add_days(chrono::Days::new(serial.floor() as u64))
}

/// Normalise a date typed as text to `YYYY-MM-DD`: accepts `2020-1-5`,
/// `2020/01/05`, `2020.1.5`, `2020年1月5日`, `20200105`, full-width digits, and
/// an Excel serial number typed or stored as text. Anything else is returned
/// unchanged for the validator to refuse.
pub fn normalise_date(raw: &str) -> String {
    let s: String = normalise_text(raw);
    let s = s.trim();
    if s.is_empty() {
        return String::new();
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..]);
    }
    if let Ok(n) = s.parse::<f64>()
        && let Some(d) = excel_serial_date(n).filter(|_| n < 100_000.0)
    {
        return d.format("%Y-%m-%d").to_string();
    }
    // A date-time: keep the date.
    let day = s.split([' ', 'T']).next().unwrap_or(s);
    let parts: Vec<&str> =
        day.trim_end_matches('日').split(['-', '/', '.', '年', '月']).filter(|p| !p.is_empty()).collect();
    if let [y, m, d] = parts.as_slice()
        && let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u32>(), d.parse::<u32>())
        && let Some(date) = NaiveDate::from_ymd_opt(y, m, d)
    {
        return date.format("%Y-%m-%d").to_string();
    }
    s.to_string()
}

/// Full-width digits, letters and spaces to ASCII, trimmed (for codes, numbers).
pub fn normalise_text(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Split a list cell (`困难家庭、失业`) into items.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(['、', ',', '，', ';', '；', '|']).map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_in_any_order_and_missing_named() {
        let h: Vec<String> =
            ["身份证号", " 姓 名", "房号", "楼栋名称", "网格编码", "其他"].iter().map(|s| s.to_string()).collect();
        let m = match_headers(ImportKind::Households, &h).unwrap();
        assert_eq!(m[0], Some(4));
        assert_eq!(m[5], Some(1));
        let e = match_headers(ImportKind::Households, &h[..3]).unwrap_err();
        let msgs: Vec<String> = e.iter().map(|e| e.message.clone()).collect();
        assert!(msgs.iter().any(|m| m.contains("网格编码")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("楼栋名称")), "{msgs:?}");
    }

    #[test]
    fn dates_as_numbers_or_text() {
        assert_eq!(normalise_date("29221"), "1980-01-01");
        assert_eq!(normalise_date("1980/1/1"), "1980-01-01");
        assert_eq!(normalise_date("１９８０年１月１日"), "1980-01-01");
        assert_eq!(normalise_date("19800101"), "1980-01-01");
        assert_eq!(normalise_date("1980-01-01 00:00:00"), "1980-01-01");
        assert_eq!(normalise_date("昨天"), "昨天");
        assert_eq!(excel_serial_date(1.0), NaiveDate::from_ymd_opt(1899, 12, 31));
    }

    #[test]
    fn lists_split() {
        assert_eq!(split_list("困难家庭、 失业,"), vec!["困难家庭", "失业"]);
    }
}
