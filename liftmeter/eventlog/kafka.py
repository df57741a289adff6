"""The event log on Apache Kafka, through kafka-python.

Producers use `acks=all` with the idempotent producer and retries, so a broker hiccup never
duplicates or loses an acknowledged message; `flush` raises `EventLogUnavailable` when any
message could not be stored. Consumers join a group, never auto-commit, and commit the
offsets their caller passes after the caller's database transaction. Partitions are
assigned by the group coordinator, so more consumers in a group split the work.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTP
from kafka.admin import NewTopic
from kafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from liftmeter.errors import ConfigurationError, EventLogUnavailable
from liftmeter.eventlog.base import Consumer, Delivered, EventLog, Producer, TopicPartition
from liftmeter.logging import get_logger
from liftmeter.settings import EventsSettings

log = get_logger(__name__)

SETTING = "LIFTMETER_EVENTS__BOOTSTRAP_SERVERS"


def _servers(settings: EventsSettings) -> list[str]:
    return [s.strip() for s in settings.bootstrap_servers.split(",") if s.strip()]


class KafkaEventProducer(Producer):
    """Sends asynchronously; `flush` waits for every acknowledgement."""

    def __init__(self, settings: EventsSettings):
        timeout_ms = int(settings.connect_timeout_s * 1000)
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=_servers(settings),
                client_id=f"{settings.client_id}-producer",
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                batch_size=256 * 1024,
                compression_type=None if settings.compression == "none" else settings.compression,
                max_block_ms=timeout_ms,
                request_timeout_ms=timeout_ms,
                delivery_timeout_ms=timeout_ms * 3,
            )
        except KafkaError as exc:
            raise EventLogUnavailable(f"cannot reach Kafka: {exc}", param=SETTING) from None
        self._futures: list[Any] = []
        self._timeout_s = settings.connect_timeout_s * 3

    def send(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        try:
            self._futures.append(self._producer.send(topic, value=value, key=key))
        except KafkaError as exc:
            raise EventLogUnavailable(f"Kafka send failed: {exc}") from None

    def flush(self, timeout_s: float | None = None) -> None:
        futures, self._futures = self._futures, []
        try:
            self._producer.flush(timeout=timeout_s or self._timeout_s)
        except KafkaError as exc:
            raise EventLogUnavailable(f"Kafka flush failed: {exc}") from None
        failed = [f for f in futures if not f.is_done or f.failed()]
        if failed:
            reason = failed[0].exception if failed[0].is_done else "timed out"
            raise EventLogUnavailable(f"{len(failed)} message(s) not stored by Kafka: {reason}")

    def close(self) -> None:
        self._producer.close(timeout=5)


class KafkaEventConsumer(Consumer):
    """A member of a Kafka consumer group with manual offset commits."""

    def __init__(self, settings: EventsSettings, group_id: str, topics: Sequence[str]):
        try:
            self._consumer = KafkaConsumer(
                *topics,
                bootstrap_servers=_servers(settings),
                client_id=f"{settings.client_id}-{group_id}",
                group_id=group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=settings.poll_max_records,
                session_timeout_ms=settings.session_timeout_ms,
                heartbeat_interval_ms=min(1_000, settings.session_timeout_ms // 3),
                max_partition_fetch_bytes=8 * 1024 * 1024,
                fetch_max_bytes=64 * 1024 * 1024,
                request_timeout_ms=int(settings.connect_timeout_s * 1000) + 30_000,
            )
        except KafkaError as exc:
            raise EventLogUnavailable(f"cannot reach Kafka: {exc}", param=SETTING) from None

    def poll(self, *, max_records: int, timeout_ms: int) -> list[Delivered]:
        try:
            batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        except KafkaError as exc:
            raise EventLogUnavailable(f"Kafka poll failed: {exc}") from None
        # kafka-python's ConsumerRecords, in partition order (each partition's in offset order)
        ordered = sorted(batches, key=lambda t: (t.topic, t.partition))
        return list(itertools.chain.from_iterable(batches[tp] for tp in ordered))

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if not offsets:
            return
        try:
            self._consumer.commit(
                {KafkaTP(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()}
            )
        except CommitFailedError as exc:
            # The group rebalanced: these partitions now belong to another member, which will
            # redeliver from the last commit. The batch is already applied and deduplicated by
            # event id, so the redelivery changes nothing.
            log.warning("offset commit rejected after rebalance", error=str(exc))
        except KafkaError as exc:
            raise EventLogUnavailable(f"Kafka offset commit failed: {exc}") from None

    def close(self) -> None:
        self._consumer.close(autocommit=False)


class KafkaEventLog(EventLog):
    """Kafka as liftmeter's event log."""

    def __init__(self, settings: EventsSettings):
        self._settings = settings

    def _admin(self) -> KafkaAdminClient:
        try:
            return KafkaAdminClient(
                bootstrap_servers=_servers(self._settings),
                client_id=f"{self._settings.client_id}-admin",
                request_timeout_ms=int(self._settings.connect_timeout_s * 1000),
            )
        except KafkaError as exc:
            raise ConfigurationError(
                f"no Kafka broker reachable at {self._settings.bootstrap_servers} ({exc})",
                param=SETTING,
            ) from None

    def check(self) -> None:
        self._check_reachable()
        admin = self._admin()
        admin.close()

    def _check_reachable(self) -> None:
        """Fail fast when no bootstrap server accepts a TCP connection."""
        errors = []
        for server in _servers(self._settings):
            host, _, port = server.rpartition(":")
            try:
                socket.create_connection(
                    (host.strip("[]") or "127.0.0.1", int(port)),
                    timeout=self._settings.connect_timeout_s,
                ).close()
                return
            except (OSError, ValueError) as exc:
                errors.append(f"{server}: {exc}")
        raise ConfigurationError(
            f"no Kafka broker reachable at {self._settings.bootstrap_servers} "
            f"({'; '.join(errors)})",
            param=SETTING,
        )

    def ensure_topics(self, topics: Iterable[str], *, partitions: int | None = None) -> None:
        admin = self._admin()
        try:
            existing = set(admin.list_topics())
            new = [
                NewTopic(
                    t, partitions or self._settings.partitions, self._settings.replication_factor
                )
                for t in sorted(set(topics) - existing)
            ]
            if new:
                with contextlib.suppress(TopicAlreadyExistsError):
                    admin.create_topics(new)
        finally:
            admin.close()

    def producer(self) -> KafkaEventProducer:
        return KafkaEventProducer(self._settings)

    def consumer(self, group_id: str, topics: Sequence[str]) -> KafkaEventConsumer:
        return KafkaEventConsumer(self._settings, group_id, topics)

    def _partitions(self, consumer: KafkaConsumer, topics: Sequence[str]) -> list[KafkaTP]:
        out: list[KafkaTP] = []
        for topic in topics:
            out.extend(
                KafkaTP(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
            )
        return out

    def _standalone(self, group_id: str | None) -> KafkaConsumer:
        return KafkaConsumer(
            bootstrap_servers=_servers(self._settings),
            group_id=group_id,
            enable_auto_commit=False,
            client_id=f"{self._settings.client_id}-tools",
        )

    def rewind(self, group_id: str, topics: Sequence[str]) -> None:
        consumer = self._standalone(group_id)
        try:
            tps = self._partitions(consumer, topics)
            consumer.assign(tps)
            consumer.commit({tp: OffsetAndMetadata(0, "", -1) for tp in tps})
        finally:
            consumer.close(autocommit=False)

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        consumer = self._standalone(None)
        try:
            ends = consumer.end_offsets(self._partitions(consumer, topics))
            return {(tp.topic, tp.partition): int(o) for tp, o in ends.items()}
        finally:
            consumer.close(autocommit=False)

    def committed(self, group_id: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
        consumer = self._standalone(group_id)
        try:
            out: dict[TopicPartition, int] = {}
            for tp in self._partitions(consumer, topics):
                out[(tp.topic, tp.partition)] = int(consumer.committed(tp) or 0)
            return out
        finally:
            consumer.close(autocommit=False)
