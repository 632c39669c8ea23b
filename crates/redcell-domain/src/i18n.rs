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
];

pub fn audit_action_label(code: &str) -> &str {
    AUDIT_ACTIONS.iter().find(|(c, _)| *c == code).map(|(_, l)| *l).unwrap_or(code)
}
