"""The procedure's words, as enumerations shared by rules, storage and API."""

from __future__ import annotations

from enum import StrEnum


class BenefitKind(StrEnum):
    """Benefit kinds in scope (Art. 1)."""

    PENSION = "pension"  # 养老保险待遇
    UNEMPLOYMENT = "unemployment"  # 失业保险待遇
    WORK_INJURY_LONG_TERM = "work_injury_long_term"  # 工伤保险长期待遇


class RecipientRole(StrEnum):
    INSURED = "insured"  # the insured person: pensioner, unemployed person, injured worker
    DEPENDANT = "dependant"  # 供养亲属: survivor of a worker who died of a work injury


class DependantRelationship(StrEnum):
    """Relationship of a work-injury dependant to the deceased worker (Art. 13 (3))."""

    SPOUSE = "spouse"  # 配偶
    CHILD = "child"  # 子女
    GRANDCHILD = "grandchild"  # 孙子女、外孙子女
    SIBLING = "sibling"  # 兄弟姐妹
    PARENT = "parent"  # 父母
    GRANDPARENT = "grandparent"  # 祖父母、外祖父母


class EntitlementStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # 暂停
    TERMINATED = "terminated"  # 终止


class CertificationChannel(StrEnum):
    """How a certification was obtained: every Art. 12 channel plus this system's own."""

    COUNTER = "counter"  # 社保经办窗口
    SELF_SERVICE_FACE = "self_service_face"  # 互联网、手机APP人脸识别
    PARTNER_BANK = "partner_bank"  # 社保卡合作银行
    EMPLOYER = "employer"  # 所在单位确认
    CARE_OR_FAMILY_DOCTOR = "care_or_family_doctor"  # 长期护理险、家庭医生签约
    HOSPITAL_STAY = "hospital_stay"  # 非危重疾病住院
    AIR_RAIL_TRAVEL = "air_rail_travel"  # 乘坐飞机、火车
    BANK_IN_PERSON = "bank_in_person"  # 须本人办理的银行业务
    BORDER_CROSSING = "border_crossing"  # 出入境记录
    BIG_DATA_MODEL = "big_data_model"  # 大数据认证模型
    BUS_CARD_REVIEW = "bus_card_review"  # 65岁以上免费公交卡年审
    OTHER_CONFIRMED = "other_confirmed"  # 其他途径
    FAMILY_ASSISTED = "family_assisted"  # self-service face with a bound family member assisting
    TOWNSHIP_VERIFICATION = "township_verification"  # 乡镇（街道）核实 (Art. 15-19)
    DATA_COMPARISON = "data_comparison"  # 信息比对 (Art. 11-12)
    # a reviewer's approval of a self-service clip the engine did not pass (人工审核): a staff
    # judgement of the video, neither a counter visit nor self-service
    STAFF_REVIEW = "staff_review"


# Channels a staff member may record by hand; the others are written by the
# self-service flow, the comparison run or the verification workflow.
STAFF_RECORDABLE_CHANNELS = frozenset(CertificationChannel) - {
    CertificationChannel.SELF_SERVICE_FACE,
    CertificationChannel.FAMILY_ASSISTED,
    CertificationChannel.DATA_COMPARISON,
    # recorded by their workflows, with their evidence: a township result on its task (photo
    # or video, Art. 16), a reviewer's approval on its case
    CertificationChannel.TOWNSHIP_VERIFICATION,
    CertificationChannel.STAFF_REVIEW,
}

SELF_SERVICE_CHANNELS = frozenset(
    {CertificationChannel.SELF_SERVICE_FACE, CertificationChannel.FAMILY_ASSISTED}
)


class SuspensionReason(StrEnum):
    PERIOD_EXPIRED_UNREACHABLE = "period_expired_unreachable"  # Art. 9
    LOST_QUALIFICATION = "lost_qualification"  # Art. 13, 21
    UNREACHABLE_IN_VERIFICATION = "unreachable_in_verification"  # Art. 21
    OTHER = "other"


class SuspensionStatus(StrEnum):
    IN_FORCE = "in_force"
    LIFTED = "lifted"


class ContactChannel(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    WECHAT = "wechat"
    VISIT = "visit"


class ContactOutcome(StrEnum):
    REACHED = "reached"
    UNREACHABLE = "unreachable"


class AccountKind(StrEnum):
    BENEFICIARY = "beneficiary"
    FAMILY = "family"
    STAFF = "staff"
    OPERATOR = "operator"


class StaffRole(StrEnum):
    CLERK = "clerk"  # keeps the records of people in the staff member's region
    COUNTER = "counter"  # counter clerk: city-wide counter certification (Art. 5)
    REVIEWER = "reviewer"  # decides self-service review cases
    AUDITOR = "auditor"  # reads the audit trail of the region
    INVESTIGATOR = "investigator"  # investigates public tip-offs (Art. 22-23)
    SUPERVISOR = "supervisor"  # assigns tip-offs to investigators (never to themselves)
