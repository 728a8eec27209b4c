"""The home page: the region's figures."""

from __future__ import annotations

from typing import Any

from flask import (
    redirect,
    render_template,
    session,
    url_for,
)

from api.context import ctx
from certification.regions import CITY_CODE
from certification.services import dashboard as dashboard_service
from certification.vocabulary import AccountKind
from console.staff import _actor, bp


@bp.route("/")
def home() -> Any:
    actor = _actor()
    if actor.kind == AccountKind.OPERATOR.value:
        return redirect(url_for("console.runs"))
    figures = dashboard_service.dashboard(ctx(), actor)
    names = {r.code: r.name for r in ctx().uow.regions.children(CITY_CODE)}
    lang = session.get("lang", "zh")

    def labelled(counts: dict[str, int], labels: dict[str, tuple[str, str]]) -> list[Any]:
        pick = 1 if lang == "en" else 0
        return [(labels.get(k, (k, k))[pick], n) for k, n in counts.items()]

    def named(counts: dict[str, int]) -> list[Any]:
        return [(names.get(k, k), n) for k, n in counts.items()]

    return render_template(
        "console/dashboard.html",
        d=figures,
        channels=CHANNEL_LABELS,
        labelled=labelled,
        named=named,
        names=names,
    )


CHANNEL_LABELS = {
    "counter": ("经办窗口", "counter"),
    "self_service_face": ("手机人脸识别", "self-service face"),
    "family_assisted": ("亲属协助人脸识别", "family-assisted face"),
    "partner_bank": ("合作银行", "partner bank"),
    "employer": ("所在单位", "employer"),
    "care_or_family_doctor": ("长护险/家庭医生", "care or family doctor"),
    "hospital_stay": ("住院", "hospital stay"),
    "air_rail_travel": ("乘坐飞机火车", "air or rail travel"),
    "bank_in_person": ("本人银行业务", "bank in person"),
    "border_crossing": ("出入境", "border crossing"),
    "big_data_model": ("大数据模型", "big-data model"),
    "bus_card_review": ("公交卡年审", "bus card review"),
    "other_confirmed": ("其他途径", "other"),
    "township_verification": ("乡镇（街道）核实", "township verification"),
    "data_comparison": ("信息比对", "data comparison"),
    "staff_review": ("人工审核通过", "approved by a reviewer"),
}
