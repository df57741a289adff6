"""The event log on Apache Kafka: consumers on librdkafka, producers and tools on kafka-python.

Producers use `acks=all` with the idempotent producer and retries, so a broker hiccup never
duplicates or loses an acknowledged message; `flush` raises `EventLogUnavailable` when any
message could not be stored. Consumers join a group, never auto-commit, and commit the
offsets their caller passes after the caller's database transaction. Partitions are
assigned by the group coordinator, so more consumers in a group split the work.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer as RdConsumer
from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka import KafkaException as RdKafkaException
from confluent_kafka import TopicPartition as RdTopicPartition
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTP
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from liftmeter.errors import ConfigurationError, EventLogUnavailable
from liftmeter.eventlog.base import Consumer, EventLog, Producer, Record, TopicPartition
from liftmeter.logging import get_logger
from liftmeter.settings import EventsSettings

log = get_logger(__name__)

SETTING = "LIFTMETER_EVENTS__BOOTSTRAP_SERVERS"
# librdkafka's prefetch per consumer: a few polls ahead, bounded in bytes (its defaults,
# 100,000 messages per partition, cost several hundred MB for no gain).
_PREFETCH_BATCHES = 4
_PREFETCH_KB = 32 * 1024
_REBALANCED = frozenset(
    {
        RdKafkaError.ILLEGAL_GENERATION,
        RdKafkaError.UNKNOWN_MEMBER_ID,
        RdKafkaError.REBALANCE_IN_PROGRESS,
        RdKafkaError._ASSIGNMENT_LOST,
    }
)
# Consumer errors that drop no message: the end of a partition, a subscribed topic that does
# not exist yet (it is read once created).
_BENIGN = frozenset({RdKafkaError._PARTITION_EOF, RdKafkaError.UNKNOWN_TOPIC_OR_PART})
_rdkafka_log = logging.getLogger("liftmeter.eventlog.librdkafka")


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
    """A member of a Kafka consumer group with manual offset commits, on librdkafka.

    librdkafka (confluent-kafka) fetches, decompresses and parses record batches in C on its
    own threads, and prefetches a few polls ahead while the caller's transaction runs.
    Parsing records in pure Python (kafka-python) cost about a quarter of a metering
    consumer's CPU; see docs/metering.md. Offsets are never committed by the
    client (`enable.auto.commit` off), only by `commit` after the caller's transaction.
    """

    def __init__(self, settings: EventsSettings, group_id: str, topics: Sequence[str]):
        self._failure: RdKafkaError | None = None
        self._close_wait_s = settings.connect_timeout_s
        try:
            self._consumer = RdConsumer(
                {
                    "bootstrap.servers": ",".join(_servers(settings)),
                    "client.id": f"{settings.client_id}-{group_id}",
                    "group.id": group_id,
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "auto.offset.reset": "earliest",
                    "session.timeout.ms": settings.session_timeout_ms,
                    "heartbeat.interval.ms": min(1_000, settings.session_timeout_ms // 3),
                    "max.partition.fetch.bytes": 8 * 1024 * 1024,
                    "fetch.max.bytes": 64 * 1024 * 1024,
                    "queued.min.messages": _PREFETCH_BATCHES * settings.poll_max_records,
                    "queued.max.messages.kbytes": _PREFETCH_KB,
                    "socket.connection.setup.timeout.ms": int(settings.connect_timeout_s * 1000),
                    "error_cb": self._on_error,
                    "logger": _rdkafka_log,
                }
            )
            self._consumer.subscribe(list(topics))
        except RdKafkaException as exc:
            raise EventLogUnavailable(f"cannot reach Kafka: {exc}", param=SETTING) from None

    def _on_error(self, error: RdKafkaError) -> None:
        # Runs inside `consume`. Connection trouble that librdkafka retries by itself is only
        # logged; when no broker is reachable at all, or the client failed for good, the next
        # `poll` raises so that the caller reopens (`liftmeter.consumer.consume_until_stopped`).
        log.warning("kafka consumer error", error=error.str(), code=error.code())
        if error.fatal() or error.code() == RdKafkaError._ALL_BROKERS_DOWN:
            self._failure = error

    def poll(self, *, max_records: int, timeout_ms: int) -> list[Record]:
        try:
            messages = self._consumer.consume(max_records, timeout_ms / 1000)
        except RdKafkaException as exc:
            raise EventLogUnavailable(f"Kafka poll failed: {exc}") from None
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise EventLogUnavailable(f"Kafka poll failed: {failure.str()}")
        out: list[Record] = []
        for m in messages:
            error = m.error()
            if error is not None:
                if error.code() in _BENIGN:
                    log.info("kafka consumer notice", error=error.str())
                    continue
                # The messages of this poll are dropped, uncommitted: the caller reopens and
                # reads again from the committed offsets.
                raise EventLogUnavailable(f"Kafka poll failed: {error.str()}")
            # a message without an error always has its topic, partition, offset and value
            out.append(Record(m.topic(), m.partition(), m.offset(), m.key(), m.value()))  # type: ignore[arg-type]
        return out

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if not offsets:
            return
        try:
            stored = self._consumer.commit(
                offsets=[RdTopicPartition(t, p, o) for (t, p), o in offsets.items()],
                asynchronous=False,
            )
            errors = [tp.error for tp in stored or () if tp.error is not None]
            if errors:
                raise RdKafkaException(errors[0])
        except RdKafkaException as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], RdKafkaError) else None
            if error is not None and error.code() in _REBALANCED:
                # The group rebalanced: these partitions may now belong to another member,
                # which redelivers from the last commit. The batch is already applied and
                # deduplicated by event id, so the redelivery changes nothing.
                log.warning("offset commit rejected after rebalance", error=error.str())
                return
            raise EventLogUnavailable(f"Kafka offset commit failed: {exc}") from None

    def close(self) -> None:
        """Leave the group, waiting at most `connect_timeout_s` for it.

        librdkafka's close can block for a long time while the broker is unreachable or
        restarting (confluent-kafka-python#1667); a consume loop that reopens after a failure
        must not hang on it. A close that outlasts the wait finishes in the background: the
        old member commits nothing (auto-commit is off) and the group drops it when its
        session times out.
        """
        closing = threading.Thread(target=self._close, name="kafka-consumer-close", daemon=True)
        closing.start()
        closing.join(self._close_wait_s)
        if closing.is_alive():
            log.warning("kafka consumer still closing; continuing without it")

    def _close(self) -> None:
        with contextlib.suppress(RuntimeError, RdKafkaException):  # closed, or broker gone
            self._consumer.close()


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
