//! The one catalogue of user-facing strings (Simplified Chinese).
//!
//! Labels of enumerations and validation messages live here so that another
//! language can follow by replacing this module. Page templates hold their own
//! static prose.

pub const REQUIRED: &str = "必填";
pub const TOO_LONG: &str = "过长";
pub const CONTROL_CHARS: &str = "含有不可见的控制字符";

pub const ID_LENGTH: &str = "身份证号应为18位";
pub const ID_CHARS: &str = "身份证号前17位应为数字，最后一位为数字或X";
pub const ID_REGION: &str = "身份证号的地区码无效";
pub const ID_BIRTH: &str = "身份证号中的出生日期不存在或不合理";
pub const ID_CHECKSUM: &str = "身份证号校验位不正确（GB 11643）";

pub const PHONE_INVALID: &str = "不是有效的大陆手机号或固定电话（如 13812345678 或 0571-87654321）";

pub const DATE_INVALID: &str = "日期格式应为 YYYY-MM-DD";
pub const BIRTH_FUTURE: &str = "出生日期不能晚于今天";
pub const BIRTH_TOO_OLD: &str = "出生日期不合理（早于1900年）";
pub const BIRTH_MISMATCH: &str = "出生日期与身份证号不一致";
pub const GENDER_MISMATCH: &str = "性别与身份证号不一致";
pub const JOIN_BEFORE_BIRTH: &str = "入党日期不合理（早于18岁）";

pub const CODE_INVALID: &str = "编码只能包含字母、数字、短横线和下划线，长度1–32";
pub const ENUM_INVALID: &str = "不是允许的取值";
pub const PATH_INVALID: &str = "组织路径格式错误";

pub const DUPLICATE_ID_NUMBER: &str = "该身份证号已登记";
pub const DUPLICATE_CODE: &str = "该编码已被使用";
pub const DUPLICATE_ROOM: &str = "该房间已登记住户";
pub const DUPLICATE_MEMBER: &str = "此人已登记为党员";
pub const PARENT_CYCLE: &str = "上级组织不能是本组织或其下级组织";
pub const PARENT_KIND: &str = "该类型组织不能挂在所选上级组织下";
pub const OUT_OF_SCOPE: &str = "不在您的管理范围内";
pub const NOT_FOUND: &str = "记录不存在或不在您的管理范围内";
pub const HAS_CHILDREN: &str = "仍有下级记录，不能删除";
pub const COORD_INVALID: &str = "坐标超出范围";
pub const NUMBER_INVALID: &str = "应为整数";
pub const RANGE_INVALID: &str = "超出允许范围";

pub const LOGIN_FAILED: &str = "用户名或密码错误";
pub const LOGIN_REQUIRED: &str = "请先登录";
pub const FORBIDDEN: &str = "没有权限执行此操作";
pub const CSRF_FAILED: &str = "表单已过期或来源不明，请刷新页面后重试";
pub const PASSWORD_WEAK: &str = "密码至少10位，且须包含字母和数字";
pub const USERNAME_INVALID: &str = "用户名只能包含字母、数字、点、短横线和下划线，长度3–32";
pub const INTERNAL: &str = "服务器内部错误，请稍后重试";

// Contact responsibility and full coverage (联系全覆盖).
pub const DATE_FUTURE: &str = "日期不能晚于今天";
pub const DATE_TOO_OLD: &str = "日期不合理（早于1949年10月1日）";
pub const UNKNOWN_FIELD: &str = "未知字段";
pub const QUOTA_BOTH: &str = "请同时填写下限和上限（都留空表示本级不设定额）";
pub const QUOTA_MIN_MAX: &str = "下限不能大于上限";
pub const REJECT_REASON: &str = "驳回时须写明理由";
pub const CONTACT_FROM_KIND: &str = "该层级的联系人须为";
pub const CONTACT_TO_KIND: &str = "该层级的联系对象须为";
pub const CONTACT_NOT_CENTRAL: &str = "不是党员中心户";
pub const CONTACT_NOT_KEY: &str = "该户未标记为重点群众（困难、孤寡/空巢、留守儿童、特殊人群或重点群众）";
pub const CONTACT_SELF: &str = "联系人和联系对象不能是同一人";
pub const CONTACT_EXEMPT: &str = "该党员已免除联系任务，不能再分配联系对象";
pub const CONTACT_HOUSEHOLD_TAKEN: &str = "该户已有联系党员，请先结束原有联系";
pub const CONTACT_DUPLICATE: &str = "这条联系关系已经存在";
pub const CONTACT_OVERLAP: &str = "开始日期早于该户上一条联系的结束日期";
pub const CONTACT_ENDED: &str = "该联系已结束，结束后不能再修改或重新开始（如需恢复请新建一条联系）";
pub const CONTACT_UNTIL_BEFORE_SINCE: &str = "结束日期不能早于开始日期";
pub const CONTACT_WRONG_BRANCH: &str = "联系人不在该组织的上级支部（总支）内";
pub const CONTACT_CADRE_KIND: &str = "网格员不承担此层级的联系任务";
pub const CONTACT_LEADER_KIND: &str = "包社领导须为街道班子成员";
pub const EXEMPTION_OPEN: &str = "该党员已有在办或已生效的免除申请";
pub const EXEMPTION_ORDER: &str = "须按顺序审批：支部大会决定 → 社区党委同意 → 报街道党工委备案；当前应办理";
pub const EXEMPTION_CLOSED: &str = "该申请已办结，不能再审批";
pub const EXEMPTION_LEVEL: &str = "您不是该步骤对应组织（支部/社区/街道）的管理人员";
pub const EXEMPTION_DATE_ORDER: &str = "日期不能早于上一步的日期";
pub const PLAN_STALE: &str = "方案生成后联系关系已有变动，不能应用，请重新生成方案";
pub const PLAN_REGISTRY_CHANGED: &str = "方案生成后住户或党员已有变动（删除或免除），不能应用，请重新生成方案";
pub const PLAN_CLOSED: &str = "该方案已应用或已放弃";
pub const PLAN_NO_HOUSEHOLDS: &str = "该组织下没有住户，无需生成方案";

/// Audit actions: stable code and label.
pub const AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("create", "新增"),
    ("update", "修改"),
    ("delete", "删除"),
    ("login", "登录"),
    ("login_failed", "登录失败"),
    ("reveal", "查看完整信息"),
    ("reveal_denied", "查看完整信息被拒"),
    ("export", "导出"),
    ("upload", "上传文件"),
    ("download", "下载文件"),
    ("grant", "授权"),
    ("revoke_grant", "撤销授权"),
    ("disable", "停用账号"),
    ("enable", "启用账号"),
    ("unlock", "解除锁定"),
    ("reset_password", "重置密码"),
    ("change_password", "修改密码"),
    ("revoke_session", "注销会话"),
    ("csrf_failed", "表单来源校验失败"),
    ("forbidden", "越权访问被拒"),
    ("demo", "生成演示数据"),
    ("start_contact", "建立联系"),
    ("end_contact", "结束联系"),
    ("set_quota", "设置联系定额"),
    ("request_exemption", "申请免除联系任务"),
    ("approve", "审批通过"),
    ("reject", "审批驳回"),
    ("propose_plan", "生成联系方案"),
    ("apply_plan", "应用联系方案"),
    ("discard_plan", "放弃联系方案"),
];

pub fn audit_action_label(code: &str) -> &str {
    AUDIT_ACTIONS.iter().find(|(c, _)| *c == code).map(|(_, l)| *l).unwrap_or(code)
}

// Export of lists (导出).
pub const EXPORT_TOO_MANY_ROWS: &str = "超过 Excel 单个工作表的行数上限（1048575 行），请缩小筛选范围或改为导出 CSV";
pub const EXPORT_QUERY_INVALID: &str = "查询参数无效";
pub const EXPORT_REFUSED: &str = "导出被拒";
