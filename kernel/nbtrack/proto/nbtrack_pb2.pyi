from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Control(_message.Message):
    __slots__ = ("mailbox_slot", "req_resp", "local")
    MAILBOX_SLOT_FIELD_NUMBER: _ClassVar[int]
    REQ_RESP_FIELD_NUMBER: _ClassVar[int]
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    mailbox_slot: str
    req_resp: bool
    local: bool
    def __init__(self, mailbox_slot: _Optional[str] = ..., req_resp: _Optional[bool] = ..., local: _Optional[bool] = ...) -> None: ...

class Record(_message.Message):
    __slots__ = ("num", "control", "ring_seq", "ring_entry", "run", "history", "summary", "config", "metric", "output", "stats", "telemetry", "files", "exit", "final", "request", "alert")
    NUM_FIELD_NUMBER: _ClassVar[int]
    CONTROL_FIELD_NUMBER: _ClassVar[int]
    RING_SEQ_FIELD_NUMBER: _ClassVar[int]
    RING_ENTRY_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    TELEMETRY_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    EXIT_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    num: int
    control: Control
    ring_seq: int
    ring_entry: int
    run: RunRecord
    history: HistoryRecord
    summary: SummaryRecord
    config: ConfigRecord
    metric: MetricRecord
    output: OutputRecord
    stats: StatsRecord
    telemetry: TelemetryRecord
    files: FilesRecord
    exit: ExitRecord
    final: FinalRecord
    request: Request
    alert: AlertRecord
    def __init__(self, num: _Optional[int] = ..., control: _Optional[_Union[Control, _Mapping]] = ..., ring_seq: _Optional[int] = ..., ring_entry: _Optional[int] = ..., run: _Optional[_Union[RunRecord, _Mapping]] = ..., history: _Optional[_Union[HistoryRecord, _Mapping]] = ..., summary: _Optional[_Union[SummaryRecord, _Mapping]] = ..., config: _Optional[_Union[ConfigRecord, _Mapping]] = ..., metric: _Optional[_Union[MetricRecord, _Mapping]] = ..., output: _Optional[_Union[OutputRecord, _Mapping]] = ..., stats: _Optional[_Union[StatsRecord, _Mapping]] = ..., telemetry: _Optional[_Union[TelemetryRecord, _Mapping]] = ..., files: _Optional[_Union[FilesRecord, _Mapping]] = ..., exit: _Optional[_Union[ExitRecord, _Mapping]] = ..., final: _Optional[_Union[FinalRecord, _Mapping]] = ..., request: _Optional[_Union[Request, _Mapping]] = ..., alert: _Optional[_Union[AlertRecord, _Mapping]] = ...) -> None: ...

class RunRecord(_message.Message):
    __slots__ = ("run_id", "entity", "project", "display_name", "notes", "tags", "group", "job_type", "config_json", "start_time", "resume", "offsets_known", "resumed", "starting_step", "history_line_offset", "events_line_offset", "output_line_offset", "runtime_offset", "host", "program", "url", "summary_json")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    JOB_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    OFFSETS_KNOWN_FIELD_NUMBER: _ClassVar[int]
    RESUMED_FIELD_NUMBER: _ClassVar[int]
    STARTING_STEP_FIELD_NUMBER: _ClassVar[int]
    HISTORY_LINE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    EVENTS_LINE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_LINE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_OFFSET_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_JSON_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    entity: str
    project: str
    display_name: str
    notes: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    group: str
    job_type: str
    config_json: str
    start_time: float
    resume: str
    offsets_known: bool
    resumed: bool
    starting_step: int
    history_line_offset: int
    events_line_offset: int
    output_line_offset: int
    runtime_offset: float
    host: str
    program: str
    url: str
    summary_json: str
    def __init__(self, run_id: _Optional[str] = ..., entity: _Optional[str] = ..., project: _Optional[str] = ..., display_name: _Optional[str] = ..., notes: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., group: _Optional[str] = ..., job_type: _Optional[str] = ..., config_json: _Optional[str] = ..., start_time: _Optional[float] = ..., resume: _Optional[str] = ..., offsets_known: _Optional[bool] = ..., resumed: _Optional[bool] = ..., starting_step: _Optional[int] = ..., history_line_offset: _Optional[int] = ..., events_line_offset: _Optional[int] = ..., output_line_offset: _Optional[int] = ..., runtime_offset: _Optional[float] = ..., host: _Optional[str] = ..., program: _Optional[str] = ..., url: _Optional[str] = ..., summary_json: _Optional[str] = ...) -> None: ...

class HistoryRecord(_message.Message):
    __slots__ = ("rows", "first_step", "last_step", "line_start")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    FIRST_STEP_FIELD_NUMBER: _ClassVar[int]
    LAST_STEP_FIELD_NUMBER: _ClassVar[int]
    LINE_START_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedScalarFieldContainer[str]
    first_step: int
    last_step: int
    line_start: int
    def __init__(self, rows: _Optional[_Iterable[str]] = ..., first_step: _Optional[int] = ..., last_step: _Optional[int] = ..., line_start: _Optional[int] = ...) -> None: ...

class SummaryRecord(_message.Message):
    __slots__ = ("update_json", "remove", "full_json")
    UPDATE_JSON_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    FULL_JSON_FIELD_NUMBER: _ClassVar[int]
    update_json: str
    remove: _containers.RepeatedScalarFieldContainer[str]
    full_json: str
    def __init__(self, update_json: _Optional[str] = ..., remove: _Optional[_Iterable[str]] = ..., full_json: _Optional[str] = ...) -> None: ...

class ConfigRecord(_message.Message):
    __slots__ = ("update_json", "remove", "full_json")
    UPDATE_JSON_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    FULL_JSON_FIELD_NUMBER: _ClassVar[int]
    update_json: str
    remove: _containers.RepeatedScalarFieldContainer[str]
    full_json: str
    def __init__(self, update_json: _Optional[str] = ..., remove: _Optional[_Iterable[str]] = ..., full_json: _Optional[str] = ...) -> None: ...

class MetricRecord(_message.Message):
    __slots__ = ("name", "step_metric", "summary", "goal", "hidden")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STEP_METRIC_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    step_metric: str
    summary: _containers.RepeatedScalarFieldContainer[str]
    goal: str
    hidden: bool
    def __init__(self, name: _Optional[str] = ..., step_metric: _Optional[str] = ..., summary: _Optional[_Iterable[str]] = ..., goal: _Optional[str] = ..., hidden: _Optional[bool] = ...) -> None: ...

class OutputRecord(_message.Message):
    __slots__ = ("line", "stderr", "timestamp", "line_start")
    LINE_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LINE_START_FIELD_NUMBER: _ClassVar[int]
    line: str
    stderr: bool
    timestamp: float
    line_start: int
    def __init__(self, line: _Optional[str] = ..., stderr: _Optional[bool] = ..., timestamp: _Optional[float] = ..., line_start: _Optional[int] = ...) -> None: ...

class StatsRecord(_message.Message):
    __slots__ = ("row_json", "line_start")
    ROW_JSON_FIELD_NUMBER: _ClassVar[int]
    LINE_START_FIELD_NUMBER: _ClassVar[int]
    row_json: str
    line_start: int
    def __init__(self, row_json: _Optional[str] = ..., line_start: _Optional[int] = ...) -> None: ...

class TelemetryRecord(_message.Message):
    __slots__ = ("nbtrack_version", "python_version", "platform", "json")
    NBTRACK_VERSION_FIELD_NUMBER: _ClassVar[int]
    PYTHON_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    nbtrack_version: str
    python_version: str
    platform: str
    json: str
    def __init__(self, nbtrack_version: _Optional[str] = ..., python_version: _Optional[str] = ..., platform: _Optional[str] = ..., json: _Optional[str] = ...) -> None: ...

class FileItem(_message.Message):
    __slots__ = ("path", "name", "policy")
    PATH_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    path: str
    name: str
    policy: str
    def __init__(self, path: _Optional[str] = ..., name: _Optional[str] = ..., policy: _Optional[str] = ...) -> None: ...

class FilesRecord(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[FileItem]
    def __init__(self, files: _Optional[_Iterable[_Union[FileItem, _Mapping]]] = ...) -> None: ...

class ExitRecord(_message.Message):
    __slots__ = ("exit_code", "runtime")
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    runtime: float
    def __init__(self, exit_code: _Optional[int] = ..., runtime: _Optional[float] = ...) -> None: ...

class FinalRecord(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AlertRecord(_message.Message):
    __slots__ = ("title", "text", "level", "timestamp")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    title: str
    text: str
    level: str
    timestamp: float
    def __init__(self, title: _Optional[str] = ..., text: _Optional[str] = ..., level: _Optional[str] = ..., timestamp: _Optional[float] = ...) -> None: ...

class Request(_message.Message):
    __slots__ = ("run_start", "poll_exit", "defer", "get_summary", "sampled_history", "network_status", "flush")
    RUN_START_FIELD_NUMBER: _ClassVar[int]
    POLL_EXIT_FIELD_NUMBER: _ClassVar[int]
    DEFER_FIELD_NUMBER: _ClassVar[int]
    GET_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_HISTORY_FIELD_NUMBER: _ClassVar[int]
    NETWORK_STATUS_FIELD_NUMBER: _ClassVar[int]
    FLUSH_FIELD_NUMBER: _ClassVar[int]
    run_start: RunStartRequest
    poll_exit: PollExitRequest
    defer: DeferRequest
    get_summary: GetSummaryRequest
    sampled_history: SampledHistoryRequest
    network_status: NetworkStatusRequest
    flush: FlushRequest
    def __init__(self, run_start: _Optional[_Union[RunStartRequest, _Mapping]] = ..., poll_exit: _Optional[_Union[PollExitRequest, _Mapping]] = ..., defer: _Optional[_Union[DeferRequest, _Mapping]] = ..., get_summary: _Optional[_Union[GetSummaryRequest, _Mapping]] = ..., sampled_history: _Optional[_Union[SampledHistoryRequest, _Mapping]] = ..., network_status: _Optional[_Union[NetworkStatusRequest, _Mapping]] = ..., flush: _Optional[_Union[FlushRequest, _Mapping]] = ...) -> None: ...

class RunStartRequest(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: RunRecord
    def __init__(self, run: _Optional[_Union[RunRecord, _Mapping]] = ...) -> None: ...

class PollExitRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeferRequest(_message.Message):
    __slots__ = ("state",)
    class DeferState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        BEGIN: _ClassVar[DeferRequest.DeferState]
        FLUSH_RUN: _ClassVar[DeferRequest.DeferState]
        FLUSH_STATS: _ClassVar[DeferRequest.DeferState]
        FLUSH_PARTIAL_HISTORY: _ClassVar[DeferRequest.DeferState]
        FLUSH_SUM: _ClassVar[DeferRequest.DeferState]
        FLUSH_DEBOUNCER: _ClassVar[DeferRequest.DeferState]
        FLUSH_OUTPUT: _ClassVar[DeferRequest.DeferState]
        FLUSH_DIR: _ClassVar[DeferRequest.DeferState]
        FLUSH_FP: _ClassVar[DeferRequest.DeferState]
        JOIN_FP: _ClassVar[DeferRequest.DeferState]
        FLUSH_FS: _ClassVar[DeferRequest.DeferState]
        FLUSH_FINAL: _ClassVar[DeferRequest.DeferState]
        END: _ClassVar[DeferRequest.DeferState]
    BEGIN: DeferRequest.DeferState
    FLUSH_RUN: DeferRequest.DeferState
    FLUSH_STATS: DeferRequest.DeferState
    FLUSH_PARTIAL_HISTORY: DeferRequest.DeferState
    FLUSH_SUM: DeferRequest.DeferState
    FLUSH_DEBOUNCER: DeferRequest.DeferState
    FLUSH_OUTPUT: DeferRequest.DeferState
    FLUSH_DIR: DeferRequest.DeferState
    FLUSH_FP: DeferRequest.DeferState
    JOIN_FP: DeferRequest.DeferState
    FLUSH_FS: DeferRequest.DeferState
    FLUSH_FINAL: DeferRequest.DeferState
    END: DeferRequest.DeferState
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: DeferRequest.DeferState
    def __init__(self, state: _Optional[_Union[DeferRequest.DeferState, str]] = ...) -> None: ...

class GetSummaryRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SampledHistoryRequest(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, keys: _Optional[_Iterable[str]] = ...) -> None: ...

class NetworkStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FlushRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ErrorInfo(_message.Message):
    __slots__ = ("code", "message")
    class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        NONE: _ClassVar[ErrorInfo.ErrorCode]
        COMMUNICATION: _ClassVar[ErrorInfo.ErrorCode]
        AUTHENTICATION: _ClassVar[ErrorInfo.ErrorCode]
        NOT_FOUND: _ClassVar[ErrorInfo.ErrorCode]
        CONFLICT: _ClassVar[ErrorInfo.ErrorCode]
        USAGE: _ClassVar[ErrorInfo.ErrorCode]
        INTERNAL: _ClassVar[ErrorInfo.ErrorCode]
    NONE: ErrorInfo.ErrorCode
    COMMUNICATION: ErrorInfo.ErrorCode
    AUTHENTICATION: ErrorInfo.ErrorCode
    NOT_FOUND: ErrorInfo.ErrorCode
    CONFLICT: ErrorInfo.ErrorCode
    USAGE: ErrorInfo.ErrorCode
    INTERNAL: ErrorInfo.ErrorCode
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: ErrorInfo.ErrorCode
    message: str
    def __init__(self, code: _Optional[_Union[ErrorInfo.ErrorCode, str]] = ..., message: _Optional[str] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("mailbox_slot", "run_result", "poll_exit", "defer", "get_summary", "sampled_history", "network_status", "flush")
    MAILBOX_SLOT_FIELD_NUMBER: _ClassVar[int]
    RUN_RESULT_FIELD_NUMBER: _ClassVar[int]
    POLL_EXIT_FIELD_NUMBER: _ClassVar[int]
    DEFER_FIELD_NUMBER: _ClassVar[int]
    GET_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_HISTORY_FIELD_NUMBER: _ClassVar[int]
    NETWORK_STATUS_FIELD_NUMBER: _ClassVar[int]
    FLUSH_FIELD_NUMBER: _ClassVar[int]
    mailbox_slot: str
    run_result: RunResult
    poll_exit: PollExitResponse
    defer: DeferResponse
    get_summary: GetSummaryResponse
    sampled_history: SampledHistoryResponse
    network_status: NetworkStatusResponse
    flush: FlushResponse
    def __init__(self, mailbox_slot: _Optional[str] = ..., run_result: _Optional[_Union[RunResult, _Mapping]] = ..., poll_exit: _Optional[_Union[PollExitResponse, _Mapping]] = ..., defer: _Optional[_Union[DeferResponse, _Mapping]] = ..., get_summary: _Optional[_Union[GetSummaryResponse, _Mapping]] = ..., sampled_history: _Optional[_Union[SampledHistoryResponse, _Mapping]] = ..., network_status: _Optional[_Union[NetworkStatusResponse, _Mapping]] = ..., flush: _Optional[_Union[FlushResponse, _Mapping]] = ...) -> None: ...

class RunResult(_message.Message):
    __slots__ = ("run", "error")
    RUN_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    run: RunRecord
    error: ErrorInfo
    def __init__(self, run: _Optional[_Union[RunRecord, _Mapping]] = ..., error: _Optional[_Union[ErrorInfo, _Mapping]] = ...) -> None: ...

class FileCounts(_message.Message):
    __slots__ = ("uploaded_files", "total_files")
    UPLOADED_FILES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FILES_FIELD_NUMBER: _ClassVar[int]
    uploaded_files: int
    total_files: int
    def __init__(self, uploaded_files: _Optional[int] = ..., total_files: _Optional[int] = ...) -> None: ...

class PollExitResponse(_message.Message):
    __slots__ = ("done", "uploaded_bytes", "total_bytes", "file_counts", "exit_result", "pending_lines", "not_stored", "not_stored_reason")
    DONE_FIELD_NUMBER: _ClassVar[int]
    UPLOADED_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    EXIT_RESULT_FIELD_NUMBER: _ClassVar[int]
    PENDING_LINES_FIELD_NUMBER: _ClassVar[int]
    NOT_STORED_FIELD_NUMBER: _ClassVar[int]
    NOT_STORED_REASON_FIELD_NUMBER: _ClassVar[int]
    done: bool
    uploaded_bytes: int
    total_bytes: int
    file_counts: FileCounts
    exit_result: ExitRecord
    pending_lines: int
    not_stored: int
    not_stored_reason: str
    def __init__(self, done: _Optional[bool] = ..., uploaded_bytes: _Optional[int] = ..., total_bytes: _Optional[int] = ..., file_counts: _Optional[_Union[FileCounts, _Mapping]] = ..., exit_result: _Optional[_Union[ExitRecord, _Mapping]] = ..., pending_lines: _Optional[int] = ..., not_stored: _Optional[int] = ..., not_stored_reason: _Optional[str] = ...) -> None: ...

class DeferResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: DeferRequest.DeferState
    def __init__(self, state: _Optional[_Union[DeferRequest.DeferState, str]] = ...) -> None: ...

class GetSummaryResponse(_message.Message):
    __slots__ = ("summary_json",)
    SUMMARY_JSON_FIELD_NUMBER: _ClassVar[int]
    summary_json: str
    def __init__(self, summary_json: _Optional[str] = ...) -> None: ...

class SampledSeries(_message.Message):
    __slots__ = ("key", "steps", "values", "min", "max", "last", "count")
    KEY_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    key: str
    steps: _containers.RepeatedScalarFieldContainer[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    min: float
    max: float
    last: float
    count: int
    def __init__(self, key: _Optional[str] = ..., steps: _Optional[_Iterable[int]] = ..., values: _Optional[_Iterable[float]] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., last: _Optional[float] = ..., count: _Optional[int] = ...) -> None: ...

class SampledHistoryResponse(_message.Message):
    __slots__ = ("series", "last_step", "rows")
    SERIES_FIELD_NUMBER: _ClassVar[int]
    LAST_STEP_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    series: _containers.RepeatedCompositeFieldContainer[SampledSeries]
    last_step: int
    rows: int
    def __init__(self, series: _Optional[_Iterable[_Union[SampledSeries, _Mapping]]] = ..., last_step: _Optional[int] = ..., rows: _Optional[int] = ...) -> None: ...

class NetworkStatusResponse(_message.Message):
    __slots__ = ("state", "last_status_code", "retry_count", "last_error", "since", "pending_bytes")
    STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    RETRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    PENDING_BYTES_FIELD_NUMBER: _ClassVar[int]
    state: str
    last_status_code: int
    retry_count: int
    last_error: str
    since: float
    pending_bytes: int
    def __init__(self, state: _Optional[str] = ..., last_status_code: _Optional[int] = ..., retry_count: _Optional[int] = ..., last_error: _Optional[str] = ..., since: _Optional[float] = ..., pending_bytes: _Optional[int] = ...) -> None: ...

class FlushResponse(_message.Message):
    __slots__ = ("next_step",)
    NEXT_STEP_FIELD_NUMBER: _ClassVar[int]
    next_step: int
    def __init__(self, next_step: _Optional[int] = ...) -> None: ...
