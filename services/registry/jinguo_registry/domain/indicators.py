"""The programme's indicators: what each one counts, from which service's events, by which date.

A count is summed over the months of a period by business date (the day the fact happened in
the programme's time zone), never by the day it was typed in. A rate divides two counts, or a
count by the area's population of the year; a rights figure comes from the rights service's
published aggregates, where a cell of 1–4 is "<5".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Unit = Literal["people", "items", "events", "percent", "yuan", "hours"]
Source = Literal["registry", "employment", "orders", "rights"]
Population = Literal["residents", "women", "households"]


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    name: str
    unit: Unit
    source: Source
    counts: str
    """What is counted: the event, the condition and the date that decides the month."""
    numerator: str | None = None
    """For a rate: the count divided (its code); None for a count, which is its own code."""
    denominator: str | None = None
    """For a rate: the count it is divided by."""
    per: Population | None = None
    """For a rate over the population: the area's figure for the period's year."""
    cumulative: bool = False
    """Counted from the start of the records to the period's end (a stock, not a flow)."""
    scale: int = 1
    """Stored as whole units of 1/scale (hours in hundredths), read back divided."""

    @property
    def is_rate(self) -> bool:
        return self.numerator is not None


def _count(code: str, name: str, unit: Unit, source: Source, counts: str) -> Indicator:
    return Indicator(code, name, unit, source, counts, scale=100 if unit == "hours" else 1)


CATALOGUE: tuple[Indicator, ...] = (
    _count(
        "women_registered",
        "登记下岗失业妇女",
        "people",
        "registry",
        "WorkerRegistered of a woman, on the day she registered",
    ),
    _count(
        "women_reemployed",
        "妇女再就业",
        "people",
        "registry",
        "ReemploymentSpellStarted of a woman, of any kind, once per spell (an older"
        " WorkerReemployed counts as a placement spell), on `started_on`",
    ),
    _count(
        "women_reemployed_placement",
        "安置再就业",
        "people",
        "registry",
        "ReemploymentSpellStarted of a woman placed through the programme (or an older"
        " WorkerReemployed), on `started_on`",
    ),
    _count(
        "women_reemployed_found_herself",
        "自谋职业",
        "people",
        "registry",
        "ReemploymentSpellStarted of a woman in a job she found herself, on `started_on`",
    ),
    _count(
        "women_reemployed_flexible",
        "灵活就业",
        "people",
        "registry",
        "ReemploymentSpellStarted of a woman in flexible work, on `started_on`",
    ),
    _count(
        "women_self_employed",
        "自主创业",
        "people",
        "registry",
        "ReemploymentSpellStarted of a woman self-employed (个体经营) or in a business she"
        " started (私营企业), on `started_on`",
    ),
    _count(
        "business_jobs_created",
        "创业带动就业",
        "people",
        "registry",
        "the jobs_created of each self-employed or business spell started, on `started_on`",
    ),
    _count(
        "unemployed_again",
        "失业再登记",
        "people",
        "registry",
        "UnemploymentReregistered (her last spell ended), on the day it ended",
    ),
    _count(
        "benefit_recipients",
        "领失业金",
        "people",
        "registry",
        "UnemploymentBenefitGranted (she begins to draw it), on `from_on`",
    ),
    _count(
        "hardship_assessed",
        "困难群体认定",
        "people",
        "registry",
        "WorkerCategoryAssessed (4050, 低保, disability…), on the day of the assessment",
    ),
    _count(
        "tax_relief_cards",
        "明白卡",
        "items",
        "registry",
        "CertificateIssued of kind tax_relief, on `issued_on`",
    ),
    _count(
        "unemployment_certificates",
        "就业失业登记证",
        "items",
        "registry",
        "CertificateIssued of kind employment_unemployment, on `issued_on`",
    ),
    _count(
        "preference_certificates",
        "再就业优惠证",
        "items",
        "registry",
        "CertificateIssued of kind reemployment_preference, on `issued_on`",
    ),
    _count(
        "certificates_reviewed",
        "证件年审",
        "items",
        "registry",
        "CertificateReviewed (renewed or withdrawn), on `reviewed_on`",
    ),
    _count(
        "home_visits",
        "入户走访",
        "events",
        "registry",
        "HomeVisitRecorded, on `visited_on`",
    ),
    _count(
        "zero_employment_households",
        "零就业家庭认定",
        "items",
        "registry",
        "ZeroEmploymentHouseholdRecognised, on `recognised_on` (again after a clearing)",
    ),
    _count(
        "zero_employment_households_cleared",
        "零就业家庭清零",
        "items",
        "registry",
        "ZeroEmploymentHouseholdCleared (a member started a re-employment spell), on `cleared_on`",
    ),
    _count(
        "volunteers_registered",
        "注册志愿者",
        "people",
        "registry",
        "VolunteerRegistered, on the day of registration",
    ),
    Indicator(
        "volunteer_rate",
        "志愿者注册率",
        "percent",
        "registry",
        "volunteers registered up to the period's end per 100 residents of the year",
        numerator="volunteers_registered",
        per="residents",
        cumulative=True,
    ),
    _count(
        "job_fairs",
        "招聘会",
        "events",
        "registry",
        "ActivityHeld of kind job_fair, on `held_on`",
    ),
    _count(
        "fair_referrals",
        "推介就业",
        "people",
        "registry",
        "the referrals made at each job fair or guidance meeting (ActivityHeld), on `held_on`",
    ),
    _count(
        "guidance_meetings",
        "就业指导会",
        "events",
        "registry",
        "ActivityHeld of kind guidance_meeting, on `held_on`",
    ),
    _count(
        "publicity_campaigns",
        "宣传活动",
        "events",
        "registry",
        "ActivityHeld of kind publicity or legal_education (三八维权周…), on `held_on`",
    ),
    _count(
        "caring_visit_households",
        "走访慰问户数",
        "items",
        "registry",
        "the households visited on each caring visit (ActivityHeld of kind caring_visit),"
        " on `held_on`",
    ),
    _count(
        "aid_yuan",
        "慰问金",
        "yuan",
        "registry",
        "the cash aid given on each caring visit (ActivityHeld), on `held_on`",
    ),
    _count(
        "awards_granted",
        "表彰",
        "items",
        "registry",
        "AwardGranted (巾帼文明岗, 岗位明星, 示范妇女之家…), on `granted_on`",
    ),
    _count(
        "areas_inspected",
        "检查验收",
        "events",
        "registry",
        "AreaInspected, counted in the inspected area, on `inspected_on`",
    ),
    _count(
        "job_information_items",
        "收集就业信息",
        "items",
        "employment",
        "PostPublished, on `published_on`",
    ),
    _count(
        "job_openings",
        "收集就业岗位",
        "items",
        "employment",
        "the openings of each PostPublished, on `published_on`",
    ),
    _count(
        "placements",
        "安置就业",
        "people",
        "employment",
        "PostFilled, on `start_date`",
    ),
    _count(
        "public_welfare_placements",
        "公益性岗位安置",
        "people",
        "employment",
        "PostFilled of a public-welfare post, on `start_date`",
    ),
    _count(
        "classes",
        "培训期数",
        "events",
        "employment",
        "CourseScheduled, on `starts_on`",
    ),
    _count(
        "trainees",
        "培训人数",
        "people",
        "employment",
        "TraineeEnrolled, on the day of enrolment",
    ),
    _count(
        "women_trainees",
        "培训妇女",
        "people",
        "employment",
        "TraineeEnrolled of a woman, on the day of enrolment",
    ),
    _count(
        "syb_trainees",
        "SYB创业培训",
        "people",
        "employment",
        "TraineeEnrolled in an SYB course, on the day of enrolment",
    ),
    _count(
        "trainees_completed",
        "培训结业",
        "people",
        "employment",
        "TrainingCompleted, passed or not, on `completed_on`",
    ),
    _count(
        "trainees_passed",
        "培训合格",
        "people",
        "employment",
        "TrainingCompleted with a pass, on `completed_on`",
    ),
    Indicator(
        "pass_rate",
        "培训合格率",
        "percent",
        "employment",
        "trainees passed per 100 trainees completed",
        numerator="trainees_passed",
        denominator="trainees_completed",
    ),
    _count(
        "vocational_certificates",
        "职业资格证书",
        "items",
        "employment",
        "CertificateAwarded by a course, on `awarded_on`",
    ),
    _count(
        "training_subsidy_yuan",
        "培训补贴",
        "yuan",
        "employment",
        "the amount of each TrainingSubsidyGranted, on `granted_on`",
    ),
    _count(
        "services_delivered",
        "社区服务",
        "events",
        "orders",
        "ServiceCompleted, on the day it was completed",
    ),
    _count(
        "free_services",
        "无偿服务",
        "events",
        "orders",
        "ServiceCompleted at the free tier, on the day it was completed",
    ),
    _count(
        "low_cost_services",
        "低偿服务",
        "events",
        "orders",
        "ServiceCompleted at the low-cost tier, on the day it was completed",
    ),
    _count(
        "service_hours",
        "服务时长",
        "hours",
        "orders",
        "the hours of each ServiceCompleted, on the day it was completed",
    ),
    _count(
        "volunteer_hours",
        "志愿服务时长",
        "hours",
        "orders",
        "the hours of each VolunteerHoursEarned, on `served_on`",
    ),
)
RIGHTS: Final[tuple[Indicator, ...]] = (
    _count("cases_opened", "受理维权案件", "events", "rights", "cases taken in, on `opened_on`"),
    _count("cases_closed", "办结案件", "events", "rights", "cases closed, on `closed_on`"),
    _count(
        "closed_on_time",
        "按时办结",
        "events",
        "rights",
        "cases closed within their time limit (working days), on `closed_on`",
    ),
    _count(
        "opened_and_closed",
        "受理且已办结",
        "events",
        "rights",
        "cases taken in during the period that are closed now, on `opened_on`",
    ),
    Indicator(
        "closure_rate",
        "办结率",
        "percent",
        "rights",
        "cases taken in during the period and closed now, per 100 cases taken in",
        numerator="opened_and_closed",
        denominator="cases_opened",
    ),
    _count(
        "domestic_violence_stopped",
        "制止家庭暴力",
        "events",
        "rights",
        "cases closed with the violence stopped, on `closed_on`",
    ),
    _count(
        "legal_aid_cases",
        "法律援助案件",
        "events",
        "rights",
        "cases given legal aid, on the day of their first legal-aid action",
    ),
    _count("mediated", "调解结案", "events", "rights", "cases closed by mediation, on `closed_on`"),
)
"""From the rights service's published figures: a cell of 1–4 reads "<5", and a cell that
would let one work a small count out reads "withheld"; a rate over such a cell is null."""
CATALOGUE = (*CATALOGUE, *RIGHTS)
BY_CODE: Final = {indicator.code: indicator for indicator in CATALOGUE}
COUNTS: Final = frozenset(i.code for i in CATALOGUE if not i.is_rate)
"""The codes a projection counts; every rate is computed from them when read."""
