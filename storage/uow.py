"""The unit of work: one session, its repositories, and the audit records it owes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self
from uuid import UUID

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from certification.errors import StaleVersion
from storage.appeal_repos import SqlAppealRepository
from storage.audit_log import SqlAuditLog
from storage.comparison_repos import SqlComparisonRepository
from storage.consent_repos import SqlConsentRepository
from storage.feed_repos import SqlFeedImportRepository
from storage.identity_repos import (
    SqlClaimRepository,
    SqlConsoleSessionRepository,
    SqlOneTimeCodeRepository,
    SqlUsedTokenRepository,
)
from storage.notice_repos import SqlNoticeRepository, SqlReceiptRepository
from storage.register_load import SqlRegisterLoad
from storage.reports import SqlReportRepository
from storage.repositories import (
    SqlAccountRepository,
    SqlCertificationRepository,
    SqlContactAttemptRepository,
    SqlEntitlementRepository,
    SqlPersonRepository,
    SqlRefreshTokenRepository,
    SqlRegionRepository,
    SqlSuspensionRepository,
)
from storage.selfservice_repos import (
    SqlAttemptRepository,
    SqlChallengeSessionRepository,
    SqlEnrolmentRequestRepository,
    SqlFaceTemplateRepository,
    SqlFamilyBindingRepository,
    SqlReminderRepository,
    SqlReviewCaseRepository,
    SqlVerificationReferralRepository,
)
from storage.supervision_repos import SqlTipOffRepository
from storage.verification_repos import (
    SqlDecisionProposalRepository,
    SqlHomeVisitRepository,
    SqlNationalUploadRepository,
    SqlVerificationTaskRepository,
)


class SqlUnitOfWork:
    """Rolls back unless the use case commits. Audit records are chained at commit."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        self.session: Session | None = None

    def __enter__(self) -> Self:
        session = self._factory()
        self.session = session
        self.persons = SqlPersonRepository(session)
        self.entitlements = SqlEntitlementRepository(session)
        self.certifications = SqlCertificationRepository(session)
        self.contacts = SqlContactAttemptRepository(session)
        self.suspensions = SqlSuspensionRepository(session)
        self.regions = SqlRegionRepository(session)
        self.accounts = SqlAccountRepository(session)
        self.refresh_tokens = SqlRefreshTokenRepository(session)
        self.codes = SqlOneTimeCodeRepository(session)
        self.used_tokens = SqlUsedTokenRepository(session)
        self.claims = SqlClaimRepository(session)
        self.console_sessions = SqlConsoleSessionRepository(session)
        self.audit = SqlAuditLog(session)
        self.templates = SqlFaceTemplateRepository(session)
        self.challenge_sessions = SqlChallengeSessionRepository(session)
        self.attempts = SqlAttemptRepository(session)
        self.review_cases = SqlReviewCaseRepository(session)
        self.bindings = SqlFamilyBindingRepository(session)
        self.referrals = SqlVerificationReferralRepository(session)
        self.enrolments = SqlEnrolmentRequestRepository(session)
        self.reminders = SqlReminderRepository(session)
        self.notices = SqlNoticeRepository(session)
        self.receipts = SqlReceiptRepository(session)
        self.feed_imports = SqlFeedImportRepository(session)
        self.comparison = SqlComparisonRepository(session)
        self.tasks = SqlVerificationTaskRepository(session)
        self.proposals = SqlDecisionProposalRepository(session)
        self.home_visits = SqlHomeVisitRepository(session)
        self.national = SqlNationalUploadRepository(session)
        self.tip_offs = SqlTipOffRepository(session)
        self.appeals = SqlAppealRepository(session)
        self.consents = SqlConsentRepository(session)
        self.reports = SqlReportRepository(session)
        self.register_load = SqlRegisterLoad(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.session is not None:
            self.rollback()
            self.session.close()
            self.session = None

    def _session(self) -> Session:
        if self.session is None:
            raise RuntimeError("unit of work used outside its 'with' block")
        return self.session

    def _forget_prefetched(self) -> None:
        self.tasks.prefetched.forget()
        self.home_visits.prefetched.forget()

    def prefetch_open_work(self, person_ids: list[UUID]) -> None:
        """Read the open verification tasks and home visits of a batch of people at once:
        certifying each of them then asks no more questions of the database."""
        self.tasks.prefetch_open(person_ids)
        self.home_visits.prefetch_open(person_ids)

    def commit(self) -> None:
        self._forget_prefetched()
        session = self._session()
        try:
            session.flush()
            self.notices.write_pending()
            self.audit.write_pending()
            session.commit()
        except StaleDataError as err:
            session.rollback()
            self._discard_pending()
            raise StaleVersion(
                "The record was changed by someone else at the same time; reload it and try again."
            ) from err
        except BaseException:
            session.rollback()
            self._discard_pending()
            raise

    def _discard_pending(self) -> None:
        self.audit.discard_pending()
        self.notices.discard_pending()

    def flush(self) -> None:
        self._session().flush()
        self.notices.write_pending()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo this block's changes (and its audit records) if it raises; keep the rest."""
        session = self._session()
        mark, told = self.audit.mark(), self.notices.mark()
        nested = session.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            self.audit.discard_after(mark)
            self.notices.discard_after(told)
            self._forget_prefetched()
            raise
        nested.commit()

    def rollback(self) -> None:
        self._forget_prefetched()
        self._session().rollback()
        self._discard_pending()
