"""Sign-in codes through the real provider adapters, against a stand-in that speaks Alibaba
Cloud's and Tencent Cloud's documented SendSms protocols and checks their signatures."""

from collections.abc import Iterator

import pytest

from infra.sms import AliyunSms, TencentSms
from tests.standins import sms_provider
from tests.standins.sms_provider import SmsStandIn

pytestmark = pytest.mark.postgres


@pytest.fixture
def standin() -> Iterator[SmsStandIn]:
    state, server = sms_provider.start()
    yield state
    server.shutdown()


@pytest.fixture
def use_sms(runtime):  # type: ignore[no-untyped-def]
    original = runtime.sms

    def use(sender):  # type: ignore[no-untyped-def]
        runtime.sms = sender

    yield use
    runtime.sms = original


def aliyun(standin: SmsStandIn, secret: str = sms_provider.ALIYUN_SECRET) -> AliyunSms:
    return AliyunSms(
        sms_provider.ALIYUN_KEY_ID, secret, "重庆社保", "SMS_000001", endpoint=standin.url + "/"
    )


def tencent(standin: SmsStandIn, key: str = sms_provider.TENCENT_KEY) -> TencentSms:
    return TencentSms(
        sms_provider.TENCENT_ID,
        key,
        "1400000001",
        "重庆社保",
        "100001",
        endpoint=standin.url + "/tc",
    )


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_code_sent_through_the_provider_signs_the_phone_in(client, standin, use_sms, provider):
    use_sms(aliyun(standin) if provider == "aliyun" else tencent(standin))
    sent = client.post("/api/auth/sms/code", json={"phone": "+86 139-0000-2222"})
    assert sent.status_code == 202, sent.get_json()
    assert [(d.provider, d.phone, d.sign_name) for d in standin.delivered] == [
        (provider, "13900002222", "重庆社保")
    ]
    code = standin.last_code("13900002222")
    assert code is not None and len(code) == 6 and code.isdigit()
    signed_in = client.post("/api/auth/sms/login", json={"phone": "13900002222", "code": code})
    assert signed_in.status_code == 200 and signed_in.get_json()["registered"] is False


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_refusing_or_unreachable_provider_is_a_503_and_no_code_is_valid(
    client, standin, use_sms, provider
):
    use_sms(aliyun(standin, "wrong") if provider == "aliyun" else tencent(standin, "wrong"))
    refused = client.post("/api/auth/sms/code", json={"phone": "13900003333"})
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert "could not be sent" in refused.get_json()["message"]
    assert standin.delivered == []

    use_sms(aliyun(standin) if provider == "aliyun" else tencent(standin))
    standin.refuse_with = "isv.BUSINESS_LIMIT_CONTROL"
    limited = client.post("/api/auth/sms/code", json={"phone": "13900004444"})
    assert limited.status_code == 503
    standin.refuse_with = None

    gone = AliyunSms("id", "secret", "s", "t", endpoint="http://127.0.0.1:9/", timeout=1)
    use_sms(gone)
    down = client.post("/api/auth/sms/code", json={"phone": "13900005555"})
    assert down.status_code == 503
