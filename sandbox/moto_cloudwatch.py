"""CloudWatch for strata's sandbox: the SDKs' RPCv2-CBOR protocol, and alarms
created from CloudFormation templates. Imported by ``moto_strata.py``.

moto 5.2.5 serves CloudWatch at ``/`` only (the query and JSON protocols). Current
CloudWatch SDKs (aws-sdk-cloudwatch, botocore) speak Smithy RPCv2-CBOR instead:
``POST /service/GraniteServiceVersion20100801/operation/<Operation>``, header
``smithy-protocol: rpc-v2-cbor``, CBOR bodies, errors as a CBOR map with
``__type`` and ``message``. moto answered those with 404. ``rpc_v2_cbor`` adds the
route: the request body is decoded by the operation's input shape (botocore's
service model and CBOR parser), re-issued to moto's own CloudWatch responses as the
JSON protocol (``X-Amz-Target: GraniteServiceVersion20100801.<Operation>``), and
moto's JSON answer is parsed by the output shape and encoded back as CBOR
(botocore's CBOR serializer). Every operation moto implements is served this way;
the region and account come from the request's signature, as for any moto call.
``paginate_describe_alarms`` pages DescribeAlarms (``MaxRecords``, ``NextToken``),
which moto answered in one page whatever was asked.

moto 5.2.5 also creates nothing for ``AWS::CloudWatch::Alarm`` in a template, so a
deployed stack had no alarms. ``StrataCloudWatchAlarm`` is a CloudFormation model
backed by moto's CloudWatch backend: create, update (the alarm keeps its state, as
PutMetricAlarm on an existing alarm does; a new ``AlarmName`` replaces it) and
delete; ``Ref`` = alarm name; ``Fn::GetAtt Arn``; ``Tags``. A new alarm is ``OK``
(moto's initial state; moto evaluates no metrics, so it only changes through
SetAlarmState). ``full_name_attributes`` answers the ``Fn::GetAtt`` the alarms'
dimensions use (``LoadBalancerFullName``, ``TargetGroupFullName``), which moto left
unimplemented (the value was null). ``percentile_statistics`` adds the ``pNN.NN``
statistics to GetMetricData and GetMetricStatistics (moto answered null).
"""

import functools
import json

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudwatch.models import (
    Dimension,
    Metric,
    MetricDataQuery,
    MetricStat,
    cloudwatch_backends,
)
from moto.core.common_models import CloudFormationModel

TARGET_PREFIX = "GraniteServiceVersion20100801"
CBOR_PATH = "{0}/service/" + TARGET_PREFIX + "/operation/(?P<operation>[A-Za-z0-9]+)$"


@functools.lru_cache(maxsize=1)
def _service_model():
    from botocore.session import get_session

    return get_session().get_service_model("cloudwatch")


@functools.lru_cache(maxsize=1)
def _error_shape():
    from botocore.model import ShapeResolver

    resolver = ShapeResolver(
        {
            "Error": {
                "type": "structure",
                "members": {"__type": {"shape": "Text"}, "message": {"shape": "Text"}},
            },
            "Text": {"type": "string"},
        }
    )
    return resolver.get_shape_by_name("Error")


def _cbor(value, shape):
    from botocore.serialize import RpcV2CBORSerializer

    out = bytearray()
    RpcV2CBORSerializer()._serialize_data_item(out, value, shape)
    return bytes(out)


def _cbor_headers(extra=None):
    headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
    for key, value in (extra or {}).items():
        if key.lower() in ("x-amzn-requestid", "x-amzn-query-error"):
            headers[key] = value
    return headers


def _cbor_error(status, code, message, headers=None):
    body = _cbor({"__type": code, "message": message}, _error_shape())
    return status, _cbor_headers(headers), body


def decode_request(operation_model, body):
    """The operation's input parameters from a CBOR request body."""
    from botocore.parsers import RpcV2CBORParser

    if not body or operation_model.input_shape is None:
        return {}
    params = RpcV2CBORParser().parse(
        {"body": body, "headers": {}, "status_code": 200}, operation_model.input_shape
    )
    params.pop("ResponseMetadata", None)
    return params


def encode_response(operation_model, status, headers, body):
    """moto's JSON-protocol answer as the RPCv2-CBOR answer."""
    from botocore.parsers import JSONParser

    if isinstance(body, str):
        body = body.encode("utf-8")
    if status >= 300:
        try:
            error = json.loads(body or b"{}")
        except ValueError:
            error = {}
        code = error.get("__type") or str(status)
        message = error.get("message") or error.get("Message") or ""
        return _cbor_error(status, code, message, headers)
    shape = operation_model.output_shape
    if shape is None:
        return status, _cbor_headers(headers), b""
    parsed = JSONParser().parse(
        {"body": body or b"{}", "headers": dict(headers), "status_code": status}, shape
    )
    parsed.pop("ResponseMetadata", None)
    return status, _cbor_headers(headers), _cbor(parsed, shape)


def dispatch_cbor(request, full_url, headers):
    """A CloudWatch RPCv2-CBOR request, answered by moto's CloudWatch."""
    from botocore.model import OperationNotFoundError
    from botocore.serialize import JSONSerializer
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.request import Request

    name = request.path.rstrip("/").rsplit("/", 1)[-1]
    try:
        operation = _service_model().operation_model(name)
    except OperationNotFoundError:
        return _cbor_error(404, "UnknownOperationException", f"unknown operation {name}")
    try:
        params = decode_request(operation, request.get_data())
    except Exception as e:  # a body that is not this operation's input
        return _cbor_error(400, "SerializationException", f"cannot decode the CBOR body: {e}")
    as_json = JSONSerializer().serialize_to_request(params, operation)
    forwarded = {
        k: v
        for k, v in request.headers.items()
        if k.lower() not in ("content-type", "content-length", "smithy-protocol", "accept")
    }
    forwarded.update(as_json["headers"])
    url = request.url_root.rstrip("/") + "/"
    inner = Request.from_primitives("POST", url, forwarded, as_json["body"])
    try:
        status, out_headers, body = CloudWatchResponse.dispatch(inner, url, dict(inner.headers))
    except NotImplementedError as e:
        return _cbor_error(501, "NotImplemented", f"moto does not implement {name}: {e}")
    return encode_response(operation, int(status), out_headers, body)


def rpc_v2_cbor():
    """Route CloudWatch's RPCv2-CBOR path in moto's server (before its app exists)."""
    from moto.cloudwatch import urls

    urls.url_paths[CBOR_PATH] = dispatch_cbor


def paginate_describe_alarms():
    """moto 5.2.5's DescribeAlarms ignores ``MaxRecords`` and ``NextToken`` and
    answers every alarm at once. Page as CloudWatch does: alarms in name order,
    ``MaxRecords`` (default 50) per page, ``NextToken`` until the last page."""
    from moto.core.responses import ActionResult
    from moto.cloudwatch.exceptions import InvalidParameterValue
    from moto.cloudwatch.responses import CloudWatchResponse

    describe = CloudWatchResponse.describe_alarms

    def describe_page(self):
        result = describe(self).result
        alarms = sorted(
            [(a.name, "MetricAlarms", a) for a in result["MetricAlarms"]]
            + [(a.name, "CompositeAlarms", a) for a in result["CompositeAlarms"]],
            key=lambda t: t[0],
        )
        size = int(self._get_param("MaxRecords") or 50)
        token = self._get_param("NextToken")
        try:
            start = int(token) if token else 0
        except ValueError:
            raise InvalidParameterValue(f"Invalid NextToken: {token}")
        page = alarms[start : start + size]
        out = {"MetricAlarms": [], "CompositeAlarms": []}
        for _, kind, alarm in page:
            out[kind].append(alarm)
        if start + size < len(alarms):
            out["NextToken"] = str(start + size)
        return ActionResult(out)

    CloudWatchResponse.describe_alarms = describe_page


def percentile_statistics():
    """moto 5.2.5 computes Sum, Average, Minimum, Maximum and SampleCount only: a
    percentile (``p99``, ``p95.45``) came back as a null value, so a canary reading
    p99 latency read nothing. ``pNN.NN`` is "the value of the specified percentile,
    up to two decimal places"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html),
    computed from raw data points; a statistic set counts only when its
    SampleCount is 1 or its Minimum equals its Maximum, and no percentile exists
    when any value is negative
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html).
    The sandbox takes the nearest-rank value (CloudWatch's own estimator is not
    documented); a period with no usable value gets no value."""
    import math
    import re

    from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum, Statistics

    pattern = re.compile(r"^p(\d{1,2}(\.\d{1,2})?|100)$")
    plain = Statistics.get_statistics_for_type

    def values(stats):
        out = []
        for m in stats.metric_data or []:
            if isinstance(m, MetricDatum):
                out.append(float(m.value))
            elif isinstance(m, MetricAggregatedDatum):
                if float(m.sample_count) == 1 or m.min == m.max:
                    out.extend([float(m.min)] * max(1, int(float(m.sample_count))))
                else:
                    return None
        return out

    def statistic(self, stat):
        match = pattern.match(stat or "")
        if not match:
            return plain(self, stat)
        data = values(self)
        if not data or min(data) < 0:
            return None
        data.sort()
        rank = math.ceil(float(match.group(1)) / 100 * len(data))
        return data[min(max(rank, 1), len(data)) - 1]

    Statistics.get_statistics_for_type = statistic

    # A period whose statistic is None is left out, not answered as a null value.
    from moto.cloudwatch.models import CloudWatchBackend

    get_metric_data = CloudWatchBackend.get_metric_data

    def without_nulls(self, *args, **kwargs):
        results = get_metric_data(self, *args, **kwargs)
        for r in results:
            pairs = [
                (t, v)
                for t, v in zip(r.get("timestamps", []), r.get("values", []))
                if v is not None
            ]
            r["timestamps"] = [t for t, _ in pairs]
            r["values"] = [v for _, v in pairs]
        return results

    CloudWatchBackend.get_metric_data = without_nulls


def _backend(account_id, region_name):
    return cloudwatch_backends[account_id][region_name]


def _int(value):
    return None if value is None else int(value)


def _metric_queries(metrics):
    """CloudFormation's ``Metrics`` as moto's MetricDataQuery list."""
    queries = []
    for m in metrics or []:
        stat = m.get("MetricStat")
        metric_stat = None
        if stat:
            metric = stat.get("Metric", {})
            metric_stat = MetricStat(
                metric=Metric(
                    metric_name=metric.get("MetricName"),
                    namespace=metric.get("Namespace"),
                    dimensions=[
                        Dimension(name=d.get("Name"), value=d.get("Value"))
                        for d in metric.get("Dimensions", [])
                    ],
                ),
                period=_int(stat.get("Period")),
                stat=stat.get("Stat"),
                unit=stat.get("Unit"),
            )
        queries.append(
            MetricDataQuery(
                query_id=m.get("Id"),
                label=m.get("Label"),
                period=_int(m.get("Period")),
                return_data=m.get("ReturnData"),
                expression=m.get("Expression"),
                metric_stat=metric_stat,
            )
        )
    return queries or None


def _put_alarm(backend, name, props):
    threshold = props.get("Threshold")
    return backend.put_metric_alarm(
        name=name,
        namespace=props.get("Namespace"),
        metric_name=props.get("MetricName"),
        comparison_operator=props.get("ComparisonOperator"),
        evaluation_periods=_int(props.get("EvaluationPeriods")),
        period=_int(props.get("Period")),
        threshold=None if threshold is None else float(threshold),
        statistic=props.get("Statistic"),
        description=props.get("AlarmDescription"),
        dimensions=[
            {"Name": d.get("Name"), "Value": d.get("Value")} for d in props.get("Dimensions", [])
        ],
        alarm_actions=list(props.get("AlarmActions", [])),
        metric_data_queries=_metric_queries(props.get("Metrics")),
        datapoints_to_alarm=_int(props.get("DatapointsToAlarm")),
        extended_statistic=props.get("ExtendedStatistic"),
        ok_actions=list(props.get("OKActions", [])),
        insufficient_data_actions=list(props.get("InsufficientDataActions", [])),
        unit=props.get("Unit"),
        actions_enabled=props.get("ActionsEnabled", True) not in (False, "false", "False"),
        treat_missing_data=props.get("TreatMissingData"),
        evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
        threshold_metric_id=props.get("ThresholdMetricId"),
        tags=list(props.get("Tags", [])),
    )


def _delete_alarm(backend, name):
    alarm = backend.alarms.get(name)
    if alarm is not None:
        backend.tagger.delete_all_tags_for_resource(alarm.alarm_arn)
        backend.delete_alarms([name])


class StrataCloudWatchAlarm(CloudFormationModel):
    """``AWS::CloudWatch::Alarm`` for moto's CloudFormation."""

    # moto's model registry files every model under its service, taken from the
    # second part of the module name ("moto.<service>....").
    __module__ = "moto.cloudwatch.strata"

    def __init__(self, alarm):
        self.alarm = alarm

    @property
    def physical_resource_id(self):
        return self.alarm.name

    @staticmethod
    def cloudformation_name_type():
        return "AlarmName"

    @staticmethod
    def cloudformation_type():
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name):
        if attribute_name == "Arn":
            return self.alarm.alarm_arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json.get("Properties", {})
        backend = _backend(account_id, region_name)
        return cls(_put_alarm(backend, props.get("AlarmName") or resource_name, props))

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        props = cloudformation_json.get("Properties", {})
        backend = _backend(account_id, region_name)
        name = props.get("AlarmName") or new_resource_name
        old = backend.alarms.get(original_resource.physical_resource_id)
        if name != original_resource.physical_resource_id:
            _delete_alarm(backend, original_resource.physical_resource_id)
            return cls(_put_alarm(backend, name, props))
        if old is not None:
            backend.tagger.delete_all_tags_for_resource(old.alarm_arn)
        alarm = _put_alarm(backend, name, props)
        if old is not None:
            # PutMetricAlarm on an existing alarm replaces its configuration and
            # leaves its state alone.
            alarm.state_value = old.state_value
            alarm.state_reason = old.state_reason
            alarm.state_reason_data = old.state_reason_data
            alarm.state_updated_timestamp = old.state_updated_timestamp
            alarm.history = old.history
        return cls(alarm)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name
    ):
        _delete_alarm(_backend(account_id, region_name), resource_name)

    def delete(self, account_id, region_name):
        _delete_alarm(_backend(account_id, region_name), self.physical_resource_id)

    def is_created(self):
        return True


def full_name_attributes():
    """``Fn::GetAtt`` ``LoadBalancerFullName`` (``app/<name>/<id>``, the ARN after
    ``loadbalancer/``) and ``TargetGroupFullName`` (``targetgroup/<name>/<id>``),
    the CloudWatch dimensions of a load balancer's metrics."""
    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup

    lb_get = FakeLoadBalancer.get_cfn_attribute

    def lb_attribute(self, attribute_name):
        if attribute_name == "LoadBalancerFullName":
            return self.arn.split(":loadbalancer/", 1)[1]
        return lb_get(self, attribute_name)

    FakeLoadBalancer.get_cfn_attribute = lb_attribute

    tg_get = getattr(FakeTargetGroup, "get_cfn_attribute", None)
    tg_has = FakeTargetGroup.has_cfn_attr.__func__

    def tg_attribute(self, attribute_name):
        if attribute_name == "TargetGroupFullName":
            return self.arn.rsplit(":", 1)[1]
        if tg_get is None:
            raise UnformattedGetAttTemplateException()
        return tg_get(self, attribute_name)

    def tg_has_attr(cls, attr):
        return attr == "TargetGroupFullName" or tg_has(cls, attr)

    FakeTargetGroup.get_cfn_attribute = tg_attribute
    FakeTargetGroup.has_cfn_attr = classmethod(tg_has_attr)


def install():
    """Everything above: the CBOR route, DescribeAlarms paging, percentiles and the GetAtt
    attributes (the alarm model registers itself when this module is imported)."""
    rpc_v2_cbor()
    paginate_describe_alarms()
    percentile_statistics()
    full_name_attributes()
