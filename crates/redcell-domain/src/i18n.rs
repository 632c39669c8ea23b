//! The one catalogue of user-facing strings (Simplified Chinese).
//!
//! Labels of enumerations and validation messages live here so that another
//! language can follow by replacing this module. Page templates hold their own
//! static prose.

pub const REQUIRED: &str = "必填";
pub const QUERY_INVALID: &str = "查询参数无效";
pub const BODY_INVALID: &str = "请求体无效";
pub const FIELD_UNKNOWN: &str = "未知字段";
pub const FIELD_TYPE_INVALID: &str = "类型不正确";
pub const FORM_HAS_ERRORS: &str = "有 {n} 处需要修改，请看标红的项目：";
pub const DUPLICATE_NAME: &str = "该名称已被使用";
pub const CSRF_PAGE_TITLE: &str = "请求被拒绝";
pub const FORBIDDEN_TITLE: &str = "没有权限";
pub const HOME_NAV: &str = "我的工作";
pub const DIARY_NAV: &str = "民情日记";
pub const GRID_TODAY_NAV: &str = "今日网格";
pub const GLANCE_NAV: &str = "组织一览";
pub const HOME_VISIT_SAVED: &str = "走访已记录，谢谢！";
pub const HOME_VISIT_SAVED_WITH_REQUEST: &str = "走访已记录，同时登记了心愿/诉求，编号 {code}，工作人员核实后会安排。";
pub const NOT_FOUND_TITLE: &str = "页面不存在";
pub const PAGE_NOT_FOUND: &str = "您要打开的页面不存在，可能是地址有误或页面已移动。";
pub const TOO_LONG: &str = "过长";
pub const CONTROL_CHARS: &str = "含有不可见的控制字符";

pub const ID_LENGTH: &str = "身份证号应为18位";
pub const ID_CHARS: &str = "身份证号前17位应为数字，最后一位为数字或X";
pub const ID_REGION: &str = "身份证号的地区码无效";
pub const ID_BIRTH: &str = "身份证号中的出生日期不存在或不合理";
pub const ID_CHECKSUM: &str = "身份证号校验位不正确（GB 11643）";

pub const PHONE_INVALID: &str = "不是有效的大陆手机号或固定电话（如 13812345678 或 0571-87654321）";

pub const DATE_INVALID: &str = "日期格式应为 YYYY-MM-DD";
pub const DATE_RANGE_INVALID: &str = "结束日期不能早于开始日期";
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
pub const ORG_PARENT_REQUIRED: &str = "请选择上级组织（新的街道或乡镇用命令行创建）";
pub const PARENT_KIND: &str = "该类型组织不能挂在所选上级组织下";
pub const OUT_OF_SCOPE: &str = "不在您的管理范围内";
pub const NOT_FOUND: &str = "记录不存在或不在您的管理范围内";
pub const ACCOUNT_NOT_ELIGIBLE: &str = "该账号不能办理此事项（须在本组织或上级组织负责办理）";
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
pub const CONFLICT: &str = "与已有数据冲突（如记录仍被引用或已存在），未作更改";
pub const METHOD_NOT_ALLOWED: &str = "不支持该请求方法";
pub const BODY_TOO_LARGE: &str = "请求体过大";
pub const BAD_REQUEST: &str = "请求无效（如地址中的编号不是整数）";

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
    ("import", "导入"),
    ("import_undo", "撤销导入"),
    ("submit_request", "登记诉求"),
    ("request_action", "办理诉求"),
    ("request_card", "诉求预警亮牌"),
    ("request_part", "联办分工"),
    ("revisit_link", "生成回访链接"),
    ("request_chase", "上报催办"),
    ("wish", "微心愿"),
    ("wish_round", "微心愿转入下一轮"),
    ("add_holiday", "登记节假日"),
    ("remove_holiday", "删除节假日"),
    ("webhook_test", "测试通知渠道"),
    ("link_account", "关联账号与干部/党员"),
    ("unlink_account", "解除账号关联"),
    ("open311_key", "Open311 接口密钥"),
];

pub fn audit_action_label(code: &str) -> &str {
    AUDIT_ACTIONS.iter().find(|(c, _)| *c == code).map(|(_, l)| *l).unwrap_or(code)
}

// Holiday calendar (working days, 调休).
pub const DAY_OFF: &str = "放假";
pub const DAY_WORK: &str = "调休上班";
pub const WORKDAY_NOT_WEEKEND: &str = "不是周末，不能设为调休上班日";
pub const HOLIDAY_NAME_REQUIRED: &str = "请填写节日名称";
pub const HOLIDAY_NAME_TOO_LONG: &str = "节日名称不能超过20个字";
pub const HOLIDAY_YEAR_RANGE: &str = "年份应在2000至2100之间";
pub const HOLIDAY_LINE_FORMAT: &str = "格式应为“日期 off|work 名称”";
pub const HOLIDAY_KIND_INVALID: &str = "类型应为 off（放假）或 work（调休上班）";
pub const HOLIDAY_DUPLICATE: &str = "重复登记";

// Resident requests, micro-wishes and errands (requests).
pub const REQ_NOT_ALLOWED: &str = "当前状态下不能执行该操作";
pub const REQ_ROLE_NOT_ALLOWED: &str = "您的身份不能执行该操作";
pub const REQ_REASON_REQUIRED: &str = "请填写理由（将告知居民）";
pub const REQ_DUPLICATE_OF_REQUIRED: &str = "请填写重复的诉求编号";
pub const REQ_MATERIALS_ONCE: &str = "补齐材料通知只能发送一次，须一次性列明所缺全部材料";
pub const REQ_MATERIALS_LIST_REQUIRED: &str = "请列明所缺的全部材料";
pub const REQ_OUTCOME_REQUIRED: &str = "请选择是否解决";
pub const REQ_HANDLER_REQUIRED: &str = "请选择承办人";
pub const REQ_DESCRIPTION_REQUIRED: &str = "请描述您的诉求";
pub const REQ_DESCRIPTION_TOO_LONG: &str = "诉求描述不能超过1000字";
pub const REQ_LOCATION_REQUIRED: &str = "请选择所在网格/楼栋，或填写地址";
pub const REQ_PROMISED_REQUIRED: &str = "承诺件须填写承诺办结日期";
pub const REQ_PROMISED_PAST: &str = "承诺办结日期不能早于受理日期";
pub const REQ_CATEGORY_UNKNOWN: &str = "未知的诉求类别";
pub const REQ_CATEGORY_KIND: &str = "类别与诉求类型不符";
pub const REQ_DEADLINE_RANGE: &str = "办理时限应在0到60个工作日之间";
pub const REQ_CODE_INVALID: &str = "编码只能包含字母、数字和连字符（2–32位）";
pub const REQ_LAT_LON: &str = "经纬度无效";
pub const REQ_PHOTO_TYPE: &str = "照片只接受 PNG、JPEG、GIF 或 WebP 图片";
pub const REQ_PHOTO_TOO_LARGE: &str = "照片过大（最大5MB）";
pub const REQ_RATE_LIMITED: &str = "提交过于频繁，请稍后再试";
pub const REQ_LINK_USED: &str = "该回访链接已使用，不能重复提交";
pub const REQ_LINK_EXPIRED: &str = "该回访链接已过期";
pub const REQ_LINK_INVALID: &str = "回访链接无效";
pub const REQ_WISH_CLAIMED: &str = "该微心愿已被其他党员认领";
pub const REQ_WISH_NOT_VERIFIED: &str = "该微心愿尚未核实，不能认领";
pub const REQ_WISH_ENDED: &str = "这件诉求已结束，微心愿不能再办理";
pub const REQ_WISH_ONLY: &str = "只有微心愿可以发布到心愿墙";
pub const REQ_CALENDAR_NOT_COVERED: &str = "节假日日历未覆盖该年份，截止日期仅按周末计算，可能不准确";
pub const REQ_ALREADY_CLAIMED: &str = "该诉求已有承办人，不能再认领";
pub const REQ_HOUSEHOLD_STAFF_ONLY: &str = "只有工作人员代为登记时才能选择住户";
pub const REQ_ROOM_TOO_LONG: &str = "房号不能超过20个字";
pub const REQ_ACTING_FOR_TOO_LONG: &str = "代办对象不能超过40个字";
pub const OPEN311_KEY_REQUIRED: &str = "该辖区要求提供接口密钥 api_key";
pub const OPEN311_KEY_INVALID: &str = "接口密钥无效或已吊销";
pub const REQ_HOLIDAY_MONDAY_WORK: &str = "调休上班日只能是周六或周日";
// ---- requests on the capability kit (issue 13): checked references, filters, messages
pub const REQ_DUPLICATE_NOT_FOUND: &str = "在您可以查看的诉求中找不到该编号";
pub const REQ_NOTE_TOO_LONG: &str = "说明不能超过1000字";
pub const REQ_BULK_ACTIONS: &str = "批量操作只支持受理和分派";
pub const REQ_CATEGORY_CODE_TAKEN: &str = "类别编码已存在";
pub const REQ_CATEGORY_OUT_OF_SCOPE: &str = "该类别的承办组织不在您的办理范围内";
pub const REQ_PART_JOINT_ONLY: &str = "只有联办件可以添加协办单位";
pub const REQ_CHASE_ESCALATED_ONLY: &str = "只有上报件需要催报";
pub const REQ_SATISFACTION_REQUIRED: &str = "请选择满意度";
pub const REQ_TEXT_NOT_PUBLIC: &str = "由工作人员代为登记，内容不公开";
pub const REQ_REVISIT_MESSAGE: &str = "您好！您反映的诉求（编号 {code}）已办理完毕。是否解决、是否满意，请打开下面的链接告诉我们（14 天内有效，只能提交一次）：{url}";
pub const REQ_RESULT_REQUIRED: &str = "办结前请填写办理结果（居民可见）";
pub const REQ_OWN_REVISIT: &str = "承办人不能回访自己办理的诉求，请由其他工作人员回访或发送回访链接给居民";
pub const REQ_REVISIT_ANSWER_REQUIRED: &str = "请选择是否解决和满意度";
pub const REQ_WISH_MEMBERS_CLAIM: &str = "微心愿由本组织及上级组织的党员认领";
pub const REQ_WISH_CLAIMER_ONLY: &str = "只有认领该微心愿的党员可以操作";
pub const REQ_FILTER_CARD: &str = "亮牌应为 warning（临期预警）、yellow（黄牌）或 red（红牌）";
pub const REQ_FILTER_STATE: &str = "状态应为 open（未办结）或诉求状态编码";
pub const REQ_FILTER_ORG: &str = "组织编号应为数字";
pub const REQ_PART_NOT_FOUND: &str = "该诉求没有这个协办事项";
pub const REQ_NAV_TASKS: &str = "我的任务";
pub const REQ_NAV_QUEUE: &str = "民情诉求";
// Duties (rhythm of visits, organisational life and meetings).
pub const DUTY_IMPOSSIBLE_DATE: &str = "日期不存在（或并非每年都有）";
pub const DUTY_ZERO_WEEKS: &str = "周数必须大于0";
pub const DUTY_ZERO_N: &str = "间隔（N）必须大于0";
pub const DUTY_EMPTY_SET: &str = "对象集合不能为空";
pub const DUTY_UNKNOWN_KIND: &str = "未知类型";
pub const DUTY_MISSING: &str = "缺少必填项";
pub const DUTY_ZERO_EXPECTED: &str = "应完成次数必须大于0";
pub const DUTY_TOO_LARGE: &str = "数值过大";
pub const DUTY_NO_SUBJECT: &str = "请指定责任对象（角色、组织类型、干部类型或党员标记）";
pub const DUTY_TOML_INVALID: &str = "规则文件格式错误";
pub const DUTY_DUPLICATE_CODE: &str = "规则编码重复";
pub const DUTY_MEETING_FUTURE: &str = "会议日期在未来，不能登记出席情况";
pub const DUTY_ATTENDEE_OUTSIDE: &str = "参会人员不属于本组织";
pub const DUTY_ATTENDEE_TWICE: &str = "同一党员在出席名单中出现了两次";
pub const DUTY_QUORUM_WITHOUT_NUMBERS: &str = "未登记出席人数，不能认定达到法定人数";
pub const DUTY_QUORUM_NOT_MET: &str = "到会正式党员未超过半数，未达到法定人数";
pub const DUTY_VISIT_FUTURE: &str = "走访日期不能在未来";
pub const DUTY_TARGET_OUTSIDE: &str = "走访对象不在您的范围内";
/// A cadre without the right to record duties records their own visits only.
/// An Idempotency-Key header that is empty, too long or not plain text.
pub const IDEMPOTENCY_KEY_INVALID: &str = "Idempotency-Key 须为 1–200 个可见字符";
/// The key was used for a different request.
pub const IDEMPOTENCY_MISMATCH: &str = "这个 Idempotency-Key 已用于另一个不同的请求";
/// The first request with this key has not been answered yet.
pub const IDEMPOTENCY_IN_FLIGHT: &str = "带同一 Idempotency-Key 的请求正在处理，请稍后再试";
pub const DUTY_OWN_VISITS_ONLY: &str = "只能登记本人的走访";
pub const DUTY_RULE_NOT_FOUND: &str = "规则不存在";
pub const DUTY_NOT_SENT: &str = "未发送：未配置通知渠道";
// ---- duties, second part: page forms, visit → request, channel, account links
pub const DUTY_CADRE_AND_MEMBER: &str = "干部类型与党员标记只能填写一个（一条规则的责任对象要么是干部，要么是党员）";
pub const DUTY_PHOTO_TOO_MANY: &str = "照片最多6张";
pub const DUTY_WEBHOOK_HTTP_ONLY: &str = "仅支持 http:// 开头的地址（内置发送器不支持 https）";
pub const DUTY_WEBHOOK_OFF: &str = "通知渠道未配置，未发送";
pub const DUTY_CHANNEL_PENDING: &str = "待发送";
pub const DUTY_CHANNEL_SAVED: &str = "通知渠道已保存。";
pub const DUTY_CHANNEL_CLOSED: &str = "通知渠道已关闭。";
pub const DUTY_LINK_SAVED: &str = "已保存。";
pub const DUTY_LINK_NONE: &str = "未关联";
pub const DUTY_PHOTO_UNREADABLE: &str = "照片过大（每张最大5MB）或上传不完整，请重新选择";
pub const DUTY_QUORUM_MET_LABEL: &str = "已达到（到会正式党员超过半数）";
pub const DUTY_QUORUM_NOT_MET_LABEL: &str = "未达到";
pub const DUTY_QUORUM_NA_LABEL: &str = "不适用";
pub const DUTY_PRESENT: &str = "出席";
pub const DUTY_ABSENT: &str = "缺席";
pub const DUTY_EXCUSED: &str = "请假";
/// How a member is marked on the meeting attendance form (value, label).
pub const DUTY_NOBODY_PRESENT: &str = "出席人数为 0：没有人出席的会议不能记为已召开，请如实标记出席情况";
pub const DUTY_PRESENCE_OPTIONS: &[(&str, &str)] = &[
    ("", "不列入应到"),
    ("present", DUTY_PRESENT),
    ("absent", DUTY_ABSENT),
    ("mobile", "请假：外出流动"),
    ("ill", "请假：患病"),
    ("abroad", "请假：出国（境）"),
    ("other", "请假：其他事由"),
];
pub const DUTY_CHANNEL_SENT: &str = "已发送";
pub const DUTY_CHANNEL_FAILED: &str = "发送失败：";
pub const DUTY_CHANNEL_TEST_MESSAGE: &str = "redcell 通知渠道测试";
pub const DUTY_CHANNEL_TEST_SENT: &str = "测试消息已发送";
pub const DUTY_CHANNEL_TEST_FAILED: &str = "测试消息发送失败：";
pub const DUTY_CHANNEL_DELIVERED: &str = "对方已接收";
pub const DUTY_CHANNEL_TIMEOUT: &str = "超时";
pub const DUTY_CHANNEL_REFUSED: &str = "无法连接";
pub const DUTY_CHANNEL_NON_2XX: &str = "对方未接收（非 2xx 应答）";
pub const DUTY_CHANNEL_BLOCKED: &str = "地址不允许（本机、链路本地或未指定地址）";
pub const DUTY_LINK_ONE: &str = "请指定干部编号或党员编号（二选一）";
pub const DUTY_LINK_UNKNOWN_CADRE: &str = "干部不存在";
pub const DUTY_LINK_UNKNOWN_MEMBER: &str = "党员不存在";
pub const DUTY_REQUEST_NEEDS_CATEGORY: &str = "请选择诉求类别";
// ---- coverage: demonstration posts, party roles, extra quotas, pickers (issue 4, part 2)
pub const CONTACT_POST_LEVEL: &str = "只有“党小组长联系中心户”层级可以以示范岗为联系对象";
pub const POST_PLACE: &str = "请选择示范岗所在的网格或单位（商铺、设施、企业）";
pub const POST_UNIT_GRID: &str = "所选单位不在所选网格内";
pub const POST_ENDED: &str = "该示范岗已撤销";
pub const POST_MEMBER_GONE: &str = "该党员已不在册";
pub const PICK_AMBIGUOUS: &str = "找到多个匹配项，请从列表中选择一个";
pub const PICK_NONE: &str = "在您的管辖范围内没有找到匹配项";
// ---------------------------------------------------------------------------
// Rosters in (花名册导入): readers, header matching, row checks, batches.
pub const IMPORT_HEADER_MISSING: &str = "缺少表头（列名可能被改动）";
pub const IMPORT_HEADER_TWICE: &str = "表头重复";
pub const IMPORT_TOO_LARGE: &str = "文件过大";
/// An xlsx whose parts unpack to far more than such a file holds (a "zip bomb").
pub const IMPORT_EXPANDS: &str = "文件解压后过大，不像正常的花名册表格（可能是恶意或损坏的文件），未读取";
pub const IMPORT_OLD_XLS: &str = "这是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后再上传";
pub const IMPORT_NOT_SHEET: &str = "无法识别的文件类型：请上传 .xlsx 或 .csv 文件";
pub const IMPORT_CORRUPT: &str = "文件已损坏或不完整（可能上传中断），请重新保存后上传";
pub const IMPORT_ENCODING: &str = "无法识别 CSV 的文字编码：请另存为 UTF-8 或 GBK 编码的 CSV";
pub const IMPORT_EMPTY: &str = "工作表是空的：第一行应为表头，其后每行一条记录";
pub const IMPORT_NO_ROWS: &str = "只有表头，没有数据行";
pub const IMPORT_MERGED: &str = "表中有合并单元格，请取消合并并在每个单元格填上内容";
pub const IMPORT_CELL_ERROR: &str = "单元格是错误值（公式出错）";
pub const IMPORT_ID_AS_NUMBER: &str = "身份证号被存成了数字，末几位已丢失：请把该列设为文本格式并重新录入";
pub const IMPORT_DUPLICATE_IN_FILE: &str = "与本文件中的另一行重复：第";
pub const IMPORT_UNKNOWN_REF: &str = "不存在（数据库和本文件中都没有）";
pub const IMPORT_OUT_OF_SCOPE: &str = "不在您可以修改的范围内";
pub const IMPORT_NOT_SUPPORTED: &str = "该类型暂只提供模板，尚不能导入";
pub const IMPORT_UNDONE_ALREADY: &str = "该批次已撤销";
pub const IMPORT_UNDO_CHANGED_LATER: &str = "该批次导入的数据之后已被修改，不能撤销";
/// Stands in for a blank name while a member row's other fields are checked.
pub const IMPORT_NO_NAME: &str = "未填姓名";
/// Yes / no as roster cells write them.
pub const IMPORT_YES: &str = "是";
pub const IMPORT_NO: &str = "否";
/// "(first seen on) row N" after `IMPORT_DUPLICATE_IN_FILE`.
pub const IMPORT_ROW_SUFFIX: &str = "行";
/// Subjects put before `IMPORT_UNKNOWN_REF` / `IMPORT_OUT_OF_SCOPE`.
pub const IMPORT_REF_PARTY_ORG_CODE: &str = "党组织编码";
pub const IMPORT_REF_ORG_CODE: &str = "组织编码";
pub const IMPORT_REF_RESIDENT: &str = "该居民";
pub const IMPORT_REF_MEMBER: &str = "该党员";
pub const IMPORT_REF_ORG_CADRE: &str = "该组织中的干部";
pub const IMPORT_REF_HOUSEHOLD: &str = "该住户";
pub const IMPORT_CHANGED_SINCE_CHECK: &str = "该记录在检查后已被修改，请重新检查";
pub const IMPORT_UNDO_DEPENDS: &str = "已有其他数据依赖该批次导入的记录，不能撤销";
pub const IMPORT_CYCLE: &str = "上级组织形成了循环";
pub const IMPORT_YES_NO: &str = "请填写“是”或“否”";
pub const IMPORT_MEMBER_NAME_NEEDED: &str = "该身份证号尚未登记为居民：请填写姓名，将同时登记居民";
pub const IMPORT_NAME_MISMATCH: &str = "与该身份证号已登记居民的姓名不一致，请核对身份证号或姓名";
pub const IMPORT_NOT_MEMBER: &str = "该身份证号不是已登记的党员";
pub const IMPORT_CADRE_LEVEL_NEEDS: &str = "该联系层级必须填写此列";
pub const IMPORT_CADRE_AMBIGUOUS: &str = "该组织中有多名同名干部，请在联系名册页面逐个添加";
// Batches on the command line (`redcell import batches`, `redcell import undo`).
pub const IMPORT_BATCHES_HEADER: &str = "批次\t时间（北京时间）\t类型\t文件\t行数\t新增/修改/未变\t导入人\t状态";
pub const IMPORT_NO_BATCHES: &str = "尚无导入批次";
/// Who imported a batch through the command line.
pub const IMPORT_BY_CLI: &str = "命令行";
pub const IMPORT_BATCH_IN_FORCE: &str = "有效";
/// Status of an undone batch, followed by when.
pub const IMPORT_BATCH_UNDONE: &str = "已撤销";
pub const IMPORT_BATCH_NOT_FOUND: &str = "该批次不存在";
pub const IMPORT_UNDO_REFUSED: &str = "撤销未执行";
pub const IMPORT_UNDO_OUT_OF_SCOPE: &str = "该批次涉及的记录或组织不在所指定组织（--org）的范围内，不能撤销";
/// After a batch id: the batch was undone.
pub const IMPORT_UNDO_DONE: &str = "已撤销：它新增的记录已删除，修改的记录已恢复";
// Export of lists (导出).
pub const EXPORT_TOO_MANY_ROWS: &str = "超过 Excel 单个工作表的行数上限（1048575 行），请缩小筛选范围或改为导出 CSV";
pub const EXPORT_QUERY_INVALID: &str = "查询参数无效";
/// Headers of personal columns; masked, they carry [`EXPORT_MASKED_SUFFIX`].
pub const EXPORT_ID_NUMBER: &str = "身份证号";
pub const EXPORT_PHONE: &str = "联系电话";
pub const EXPORT_MASKED_SUFFIX: &str = "（脱敏）";
pub const EXPORT_YES: &str = "是";
pub const EXPORT_NO: &str = "否";
/// Columns of the request register (民情诉求) export.
pub const EXPORT_REQUESTS: [&str; 20] = [
    "编号",
    "类型",
    "类别",
    "办理方式",
    "内容",
    "地址",
    "联系人",
    EXPORT_PHONE,
    "承办组织",
    "承办人",
    "状态",
    "亮灯",
    "受理日期",
    "办结时限",
    "超期",
    "暂停计时日期",
    "办理结果",
    "满意度",
    "提交时间",
    "办结时间",
];
/// Columns of the exemptions (免除联系任务) export.
pub const EXPORT_EXEMPTIONS: [&str; 21] = [
    "党员",
    "所在组织",
    "原因",
    "说明",
    "状态",
    "待办环节",
    "申请人",
    "申请时间",
    "支部大会决定日期",
    "支部经办人",
    "支部会议记录",
    "社区党委同意日期",
    "社区经办人",
    "社区意见",
    "街道备案日期",
    "街道经办人",
    "街道意见",
    "未通过环节",
    "未通过日期",
    "未通过经办人",
    "驳回理由",
];
/// Columns of the contact plans (联系方案) export.
pub const EXPORT_PLANS: [&str; 23] = [
    "方案编号",
    "范围",
    "状态",
    "调整代价（米）",
    "可跨网格",
    "住户数",
    "党员数",
    "可联系户数",
    "可覆盖上限",
    "覆盖前",
    "覆盖后",
    "覆盖率（前）",
    "覆盖率（后）",
    "新建联系",
    "结束联系",
    "调整户数",
    "总代价（米）",
    "代价下界",
    "生成人",
    "生成时间",
    "处理人",
    "处理时间",
    "处理理由",
];
/// Columns of the demonstration posts (党员示范岗) export.
pub const EXPORT_POSTS: [&str; 9] =
    ["示范岗", "党员", "网格", "单位", "党小组长", "开始日期", "撤销日期", "说明", "撤销原因"];
