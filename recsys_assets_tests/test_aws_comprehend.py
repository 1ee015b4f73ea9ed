"""Comprehend sentiment: byte-safe truncation, batches with Stubber (throttling, ErrorList), the async job on S3."""

import io
import json
import tarfile

import boto3
import pytest
from botocore.stub import ANY, Stubber
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from recsys_assets.aws_formats.comprehend_documents import job_output_lines, one_line, truncate_utf8
from recsys_assets.resources.comprehend import ComprehendSentimentAnalyzer, SentimentJobError
from recsys_assets.sentiment.vader import SENTIMENT_COLUMNS

POSITIVE = {
    "Sentiment": "POSITIVE",
    "SentimentScore": {"Positive": 0.9, "Negative": 0.02, "Neutral": 0.07, "Mixed": 0.01},
}
NEGATIVE = {
    "Sentiment": "NEGATIVE",
    "SentimentScore": {"Positive": 0.05, "Negative": 0.9, "Neutral": 0.04, "Mixed": 0.01},
}
BUCKET = "jobs"


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def test_truncation_counts_utf8_bytes_and_never_splits_a_character():
    assert truncate_utf8("é" * 3_000) == "é" * 2_500
    assert truncate_utf8("a" + "é" * 2_500) == "a" + "é" * 2_499
    assert truncate_utf8("ab€", max_bytes=4) == "ab"
    assert truncate_utf8("short") == "short"


@given(st.text(), st.integers(min_value=0, max_value=40))
def test_truncation_keeps_the_longest_prefix_that_fits(text, max_bytes):
    cut = truncate_utf8(text, max_bytes)
    assert text.startswith(cut) and len(cut.encode()) <= max_bytes
    assert cut == text or len(text[: len(cut) + 1].encode()) > max_bytes


def test_line_breaks_become_single_spaces_for_one_document_per_line():
    assert one_line("Good.\r\nReally\n\ngood\u2028end") == "Good. Really good end"


def result(index: int, outcome: dict) -> dict:
    return {"Index": index, **outcome}


def analyzer(**config) -> tuple[ComprehendSentimentAnalyzer, Stubber]:
    resource = ComprehendSentimentAnalyzer(retry_base_seconds=0, **config)
    return resource, Stubber(resource.client())


def test_texts_go_in_batches_of_25_distinct_cut_texts_and_empty_ones_stay_local():
    texts = [f"text {i}" for i in range(26)] + ["", "text 0", "é" * 2_600]
    sent = [f"text {i}" for i in range(26)] + ["é" * 2_500]
    resource, stubber = analyzer()
    stubber.add_response(
        "batch_detect_sentiment",
        {"ResultList": [result(i, POSITIVE) for i in range(25)], "ErrorList": []},
        {"TextList": sent[:25], "LanguageCode": "en"},
    )
    stubber.add_response(
        "batch_detect_sentiment",
        {"ResultList": [result(0, POSITIVE), result(1, NEGATIVE)], "ErrorList": []},
        {"TextList": sent[25:], "LanguageCode": "en"},
    )
    with stubber:
        scores = resource.score(texts)
    stubber.assert_no_pending_responses()
    assert list(scores.columns) == list(SENTIMENT_COLUMNS)
    assert scores["Sentiment"].tolist() == ["POSITIVE"] * 26 + ["NEUTRAL", "POSITIVE", "NEGATIVE"]
    assert scores.iloc[26, 1:].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert resource.last_errors() == 0


def test_a_throttled_batch_is_sent_again():
    resource, stubber = analyzer()
    stubber.add_client_error("batch_detect_sentiment", service_error_code="ThrottlingException", http_status_code=400)
    stubber.add_response(
        "batch_detect_sentiment",
        {"ResultList": [result(0, NEGATIVE)], "ErrorList": []},
        {"TextList": ["bad"], "LanguageCode": "en"},
    )
    with stubber:
        assert resource.score(["bad"])["Sentiment"].tolist() == ["NEGATIVE"]


def test_error_list_documents_are_resent_and_permanent_failures_counted_as_neutral():
    resource, stubber = analyzer()
    stubber.add_response(
        "batch_detect_sentiment",
        {
            "ResultList": [result(0, POSITIVE)],
            "ErrorList": [
                {"Index": 1, "ErrorCode": "INTERNAL_SERVER_ERROR", "ErrorMessage": "try again"},
                {"Index": 2, "ErrorCode": "UNSUPPORTED_LANGUAGE", "ErrorMessage": "no"},
            ],
        },
        {"TextList": ["good", "awful", "xyzzy"], "LanguageCode": "en"},
    )
    stubber.add_response(
        "batch_detect_sentiment",
        {"ResultList": [result(0, NEGATIVE)], "ErrorList": []},
        {"TextList": ["awful"], "LanguageCode": "en"},
    )
    with stubber:
        scores = resource.score(["good", "awful", "xyzzy"])
    assert scores["Sentiment"].tolist() == ["POSITIVE", "NEGATIVE", "NEUTRAL"]
    assert resource.last_errors() == 1


def test_documents_failing_every_attempt_are_recorded_not_lost():
    resource, stubber = analyzer(document_attempts=2)
    failure = {"ResultList": [], "ErrorList": [{"Index": 0, "ErrorCode": "INTERNAL_SERVER_ERROR", "ErrorMessage": "x"}]}
    for _ in range(2):
        stubber.add_response("batch_detect_sentiment", failure, {"TextList": ["meh"], "LanguageCode": "en"})
    with stubber:
        scores = resource.score(["meh", "meh"])
    assert scores["Sentiment"].tolist() == ["NEUTRAL", "NEUTRAL"] and resource.last_errors() == 1


def job_archive(records: list[dict]) -> bytes:
    """An output.tar.gz as Comprehend writes it: one member of JSON lines."""
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        member = tarfile.TarInfo("output")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def test_job_output_archive_is_read_as_json_lines():
    records = [{"File": "input.txt", "Line": 0, **POSITIVE}, {"File": "input.txt", "Line": 1, "ErrorCode": "X"}]
    assert list(job_output_lines(job_archive(records))) == records


def job_analyzer(**config) -> tuple[ComprehendSentimentAnalyzer, Stubber]:
    return analyzer(
        async_threshold=2,
        job_bucket=BUCKET,
        job_role_arn="arn:aws:iam::123456789012:role/comprehend",
        job_poll_seconds=0,
        **config,
    )


def job_properties(status: str, **extra) -> dict:
    return {"SentimentDetectionJobProperties": {"JobId": "j1", "JobStatus": status, **extra}}


@mock_aws
def test_above_the_threshold_an_async_job_scores_the_texts_and_failed_lines_fall_back_to_batches():
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    output_key = "recsys/comprehend/x/output/123-SENTIMENT-j1/output/output.tar.gz"
    records = [
        {"File": "input.txt", "Line": 0, **POSITIVE},
        {"File": "input.txt", "Line": 1, "ErrorCode": "INTERNAL_SERVER_ERROR"},
    ]
    s3.put_object(Bucket=BUCKET, Key=output_key, Body=job_archive(records))
    resource, stubber = job_analyzer()
    stubber.add_response(
        "start_sentiment_detection_job",
        {"JobId": "j1", "JobStatus": "SUBMITTED"},
        {
            "InputDataConfig": {"S3Uri": ANY, "InputFormat": "ONE_DOC_PER_LINE"},
            "OutputDataConfig": {"S3Uri": ANY},
            "DataAccessRoleArn": "arn:aws:iam::123456789012:role/comprehend",
            "JobName": ANY,
            "LanguageCode": "en",
        },
    )
    stubber.add_response("describe_sentiment_detection_job", job_properties("IN_PROGRESS"), {"JobId": "j1"})
    stubber.add_response(
        "describe_sentiment_detection_job",
        job_properties("COMPLETED", OutputDataConfig={"S3Uri": f"s3://{BUCKET}/{output_key}"}),
        {"JobId": "j1"},
    )
    stubber.add_response(
        "batch_detect_sentiment",
        {"ResultList": [result(0, NEGATIVE)], "ErrorList": []},
        {"TextList": ["two\nlines"], "LanguageCode": "en"},
    )
    with stubber:
        scores = resource.score(["great", "two\nlines", ""])
    stubber.assert_no_pending_responses()
    assert scores["Sentiment"].tolist() == ["POSITIVE", "NEGATIVE", "NEUTRAL"]
    inputs = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="recsys/comprehend/")["Contents"]
        if o["Key"].endswith("input.txt")
    ]
    assert s3.get_object(Bucket=BUCKET, Key=inputs[0])["Body"].read() == b"great\ntwo lines"


@mock_aws
def test_a_failed_job_is_an_error_with_its_reason():
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    resource, stubber = job_analyzer()
    stubber.add_response("start_sentiment_detection_job", {"JobId": "j1"}, None)
    stubber.add_response(
        "describe_sentiment_detection_job",
        job_properties("FAILED", Message="role cannot read the bucket"),
        {"JobId": "j1"},
    )
    with stubber, pytest.raises(SentimentJobError, match="j1 FAILED: role cannot read the bucket"):
        resource.score(["a", "b"])


@mock_aws
def test_a_job_past_its_timeout_is_stopped_and_an_error():
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    resource, stubber = job_analyzer(job_timeout_seconds=1e-9)
    stubber.add_response("start_sentiment_detection_job", {"JobId": "j1"}, None)
    stubber.add_response("describe_sentiment_detection_job", job_properties("IN_PROGRESS"), {"JobId": "j1"})
    stubber.add_response(
        "stop_sentiment_detection_job", {"JobId": "j1", "JobStatus": "STOP_REQUESTED"}, {"JobId": "j1"}
    )
    with stubber, pytest.raises(SentimentJobError, match="still IN_PROGRESS .* stopped it"):
        resource.score(["a", "b"])
    stubber.assert_no_pending_responses()
