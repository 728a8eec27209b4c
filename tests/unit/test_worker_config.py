"""The broker gives a dead worker's task to another soon after its visibility timeout."""

from infra.settings import Settings
from worker.celery_app import make_celery, transport_options


def test_a_dead_workers_task_is_looked_for_every_tenth_of_the_timeout_at_most_10_s():
    assert transport_options(300) == {
        "visibility_timeout": 300,
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
    }
    assert transport_options(10)["unacked_restore_interval"] == 1
    assert transport_options(86400)["unacked_restore_interval"] == 10


def test_the_worker_app_carries_them(tmp_path):
    settings = Settings(
        data_dir=tmp_path, broker_url="redis://127.0.0.1:6379/9", task_visibility_timeout=60
    )
    app = make_celery(settings)
    assert app.conf.broker_transport_options == transport_options(60)
