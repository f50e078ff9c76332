"""SQS dead-letter queue redrive (message move tasks), as AWS documents it and
moto 5.2.5 does not have it. Imported by ``moto_strata.py``; ``install()`` applies it.

moto 5.2.5 answers ``StartMessageMoveTask``, ``ListMessageMoveTasks`` and
``CancelMessageMoveTask`` with "The ... action has not been implemented". strata's
``dr repair`` moves dead-letter messages back with them, on AWS and here alike, so
the sandbox models them, each rule from AWS's pages:

- StartMessageMoveTask
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html):
  starts an *asynchronous* task and returns its ``TaskHandle``. The source must be a
  queue configured as the dead-letter queue of another SQS queue
  (``InvalidParameterValue`` otherwise); a source or destination that does not exist
  is ``ResourceNotFoundException``; the destination must be the same type as the
  source (standard or FIFO); ``MaxNumberOfMessagesPerSecond`` is at most 500; only
  one active task per queue at a time (``UnsupportedOperation``). Without a
  ``DestinationArn`` the messages go back to "their respective original source
  queues": the queue each was dead-lettered from (recorded when moto's receive moves
  it); a message that was never dead-lettered (sent straight to the queue) has no
  source, and the task fails on it (AWS does not say; the sandbox does not guess).
- Moved messages "are considered new messages with a new messageID and
  enqueueTime" and their retention restarts
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html):
  a new message in the destination (body and message attributes kept, receive
  count 0), oldest first; messages in flight in the source wait until visible.
- ListMessageMoveTasks
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasks.html):
  the most recent tasks of the source, newest first, ``MaxResults`` 1 (default) to
  10; ``TaskHandle`` only while RUNNING; ``ApproximateNumberOfMessagesToMove`` only
  once the task has been selected to start; ``DestinationArn`` and
  ``MaxNumberOfMessagesPerSecond`` only when the start named them; ``FailureReason``
  when FAILED.
- CancelMessageMoveTask
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CancelMessageMoveTask.html):
  only a RUNNING task (``UnsupportedOperation`` otherwise; an unknown handle is
  ``ResourceNotFoundException``); it goes CANCELLING, then CANCELLED; what was moved
  stays moved. Returns ``ApproximateNumberOfMessagesMoved``.

Time: a task is selected to start ``START_DELAY`` seconds after the call, then
moves ``MaxNumberOfMessagesPerSecond`` messages a second, or ``DEFAULT_RATE`` (AWS's
"system optimized" rate is not documented). The state moves on at every SQS request
to the region (a client sees the task RUNNING, then COMPLETED, as on AWS). A task
whose source or destination queue is deleted fails.

Not modelled: the 36-hour limit of a task, the quota of active tasks per account,
KMS permissions of encrypted queues.
"""

import base64
import json
import threading
import time

from moto.core.responses import ActionResult
from moto.moto_api._internal import mock_random as random
from moto.sqs.exceptions import SQSException
from moto.sqs.models import Message, SQSBackend, sqs_backends
from moto.sqs.responses import SQSResponse

# Seconds from StartMessageMoveTask until the task is selected to start.
START_DELAY = 1.0
# Messages a second when the start names no rate.
DEFAULT_RATE = 50
# MaxNumberOfMessagesPerSecond's upper bound (StartMessageMoveTask).
MAX_RATE = 500

_lock = threading.RLock()


class MoveTask:
    def __init__(self, source, destination_arn, rate, to_move):
        self.handle = base64.b64encode(
            json.dumps({"taskId": str(random.uuid4()), "sourceArn": source.queue_arn}).encode()
        ).decode()
        self.source_arn = source.queue_arn
        self.destination_arn = destination_arn
        self.rate = rate
        self.status = "RUNNING"
        self.started = time.time()
        self.to_move = to_move
        self.moved = 0
        self.failure = None

    def entry(self):
        out = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "StartedTimestamp": int(self.started * 1000),
        }
        if self.status == "RUNNING":
            out["TaskHandle"] = self.handle
        if self.destination_arn:
            out["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            out["MaxNumberOfMessagesPerSecond"] = self.rate
        if time.time() - self.started >= START_DELAY:
            out["ApproximateNumberOfMessagesToMove"] = self.to_move
        if self.failure:
            out["FailureReason"] = self.failure
        return out


def _tasks(backend):
    """The move tasks of one region's backend, oldest first (a moto reset, which
    makes the backend anew, forgets them)."""
    tasks = getattr(backend, "strata_move_tasks", None)
    if tasks is None:
        tasks = backend.strata_move_tasks = []
    return tasks


def _not_found(what):
    return SQSException(
        "ResourceNotFoundException",
        f"The resource that you specified for the {what} parameter doesn't exist.",
    )


def _queue_by_arn(backend, arn):
    for queue in backend.queues.values():
        if queue.queue_arn == arn:
            return queue
    return None


def _is_dead_letter_queue(backend, queue):
    return any(q.dead_letter_queue is queue for q in backend.queues.values())


def _moved_copy(message):
    """The message as the destination receives it: a new message (new id, enqueued
    now, never received) with the same body and attributes."""
    copy = Message(str(random.uuid4()), message.body, dict(message.system_attributes or {}))
    copy.message_attributes = dict(message.message_attributes or {})
    copy.group_id = message.group_id
    copy.deduplication_id = message.deduplication_id
    copy.mark_sent()
    return copy


def _advance(backend):
    """Move every running task of the region on to now."""
    now = time.time()
    for task in _tasks(backend):
        if task.status == "CANCELLING":
            task.status = "CANCELLED"
            continue
        if task.status != "RUNNING":
            continue
        source = _queue_by_arn(backend, task.source_arn)
        if source is None:
            task.status, task.failure = "FAILED", "The source queue was deleted."
            continue
        running = now - task.started - START_DELAY
        if running < 0:
            continue
        rate = task.rate or DEFAULT_RATE
        due = min(task.to_move, int(running * rate) + 1) - task.moved
        for message in list(source.messages)[: max(due, 0)]:
            destination_arn = task.destination_arn or getattr(message, "strata_source_arn", None)
            if destination_arn is None:
                task.status = "FAILED"
                task.failure = (
                    f"Message {message.id} has no source queue to move back to "
                    "(it was not moved to the dead-letter queue by a redrive policy): "
                    "name a DestinationArn."
                )
                break
            destination = _queue_by_arn(backend, destination_arn)
            if destination is None:
                task.status = "FAILED"
                task.failure = "AWS.SimpleQueueService.NonExistentQueue: the destination queue was deleted."
                break
            with source._messages_lock:
                source._messages.remove(message)
                source.pending_messages.discard(message)
            destination.add_message(_moved_copy(message))
            task.moved += 1
        if task.status == "RUNNING" and (task.moved >= task.to_move or not source._messages):
            task.status = "COMPLETED"


def start_message_move_task(self):
    backend = self.sqs_backend
    source_arn = self._get_param("SourceArn")
    destination_arn = self._get_param("DestinationArn")
    rate = self._get_param("MaxNumberOfMessagesPerSecond")
    with _lock:
        _advance(backend)
        source = _queue_by_arn(backend, source_arn)
        if source is None:
            raise _not_found("SourceArn")
        if not _is_dead_letter_queue(backend, source):
            raise SQSException(
                "InvalidParameterValue",
                "Source queue must be configured as a Dead Letter Queue.",
            )
        if destination_arn:
            destination = _queue_by_arn(backend, destination_arn)
            if destination is None:
                raise _not_found("DestinationArn")
            if destination.fifo_queue != source.fifo_queue:
                raise SQSException(
                    "InvalidParameterValue",
                    "The destination queue must be the same type as the source queue.",
                )
        if rate is not None and not 1 <= int(rate) <= MAX_RATE:
            raise SQSException(
                "InvalidParameterValue",
                f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. "
                f"Reason: it must be between 1 and {MAX_RATE}.",
            )
        if any(t.source_arn == source_arn and t.status in ("RUNNING", "CANCELLING") for t in _tasks(backend)):
            raise SQSException(
                "UnsupportedOperation",
                "There is already a task running. Only one active task is allowed for a source queue at a time.",
            )
        task = MoveTask(
            source,
            destination_arn,
            int(rate) if rate is not None else None,
            len(source.messages),
        )
        _tasks(backend).append(task)
        return ActionResult({"TaskHandle": task.handle})


def list_message_move_tasks(self):
    backend = self.sqs_backend
    source_arn = self._get_param("SourceArn")
    max_results = self._get_param("MaxResults")
    max_results = 1 if max_results is None else int(max_results)
    if not 1 <= max_results <= 10:
        raise SQSException(
            "InvalidParameterValue",
            f"Value {max_results} for parameter MaxResults is invalid. Reason: it must be between 1 and 10.",
        )
    with _lock:
        _advance(backend)
        if _queue_by_arn(backend, source_arn) is None:
            raise _not_found("SourceArn")
        tasks = [t for t in _tasks(backend) if t.source_arn == source_arn]
        newest = list(reversed(tasks))[:max_results]
        return ActionResult({"Results": [t.entry() for t in newest]})


def cancel_message_move_task(self):
    backend = self.sqs_backend
    handle = self._get_param("TaskHandle")
    with _lock:
        _advance(backend)
        task = next((t for t in _tasks(backend) if t.handle == handle), None)
        if task is None:
            raise _not_found("TaskHandle")
        if task.status != "RUNNING":
            raise SQSException(
                "UnsupportedOperation",
                f"A message movement can only be cancelled when the current status is RUNNING (it is {task.status}).",
            )
        task.status = "CANCELLING"
        return ActionResult({"ApproximateNumberOfMessagesMoved": task.moved})


def advance_on_every_request():
    """Every SQS request to a region first moves that region's tasks on to now, so
    a GetQueueAttributes or ReceiveMessage sees what the task has moved."""
    call_action = SQSResponse.call_action

    def call_action_after_the_tasks(self):
        try:
            backend = sqs_backends[self.current_account][self.region]
        except Exception:  # noqa: BLE001 - no backend for the request: moto answers
            backend = None
        if backend is not None:
            with _lock:
                _advance(backend)
        return call_action(self)

    SQSResponse.call_action = call_action_after_the_tasks


def record_dead_letter_sources():
    """A message moto's receive moves to the dead-letter queue remembers the queue
    it came from (AWS: its original source queue, where a task without a
    DestinationArn moves it back)."""
    receive = SQSBackend.receive_message

    def receive_and_record(self, queue_name, *args, **kwargs):
        queue = self.get_queue(queue_name)
        before = {id(m) for m in queue._messages}
        result = receive(self, queue_name, *args, **kwargs)
        dlq = queue.dead_letter_queue
        if dlq is not None:
            for message in dlq._messages:
                if id(message) in before and not hasattr(message, "strata_source_arn"):
                    message.strata_source_arn = queue.queue_arn
        return result

    SQSBackend.receive_message = receive_and_record


def install():
    SQSResponse.start_message_move_task = start_message_move_task
    SQSResponse.list_message_move_tasks = list_message_move_tasks
    SQSResponse.cancel_message_move_task = cancel_message_move_task
    advance_on_every_request()
    record_dead_letter_sources()
