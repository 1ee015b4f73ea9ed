"""Amazon Comprehend sentiment: BatchDetectSentiment, or an asynchronous detection job through S3 for large volumes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError
from pydantic import Field, PrivateAttr

from recsys_assets.aws_formats.comprehend_documents import job_output_lines, one_line, sentiment_frame, truncate_utf8
from recsys_assets.resources.aws_clients import THROTTLING_CODES, aws_client, retry_pending
from recsys_assets.resources.sentiment_analyzer import SentimentAnalyzer

BATCH_LIMIT = 25  # texts per BatchDetectSentiment call
JOB_LINE_LIMIT = 1_000_000  # lines per sentiment detection job
# ErrorList codes that a retry cannot fix
PERMANENT_ERROR_CODES = frozenset({"TEXT_SIZE_LIMIT_EXCEEDED", "UNSUPPORTED_LANGUAGE", "INVALID_REQUEST"})


class SentimentJobError(RuntimeError):
    """A sentiment detection job failed, stopped or did not finish in time."""


class ComprehendSentimentAnalyzer(SentimentAnalyzer):
    """Comprehend's sentiment for each text, in its own output shape; texts that still fail after the resends are
    NEUTRAL and counted in `last_errors()`. Batches, truncation and the asynchronous jobs: docs/aws.md."""

    language_code: str = Field(default="en", description="Language of the reviews.")
    region: str = Field(default="", description="AWS region; empty for AWS_REGION / AWS_DEFAULT_REGION.")
    document_attempts: int = Field(
        default=4, ge=1, description="Attempts per document while it is throttled or in ErrorList."
    )
    retry_base_seconds: float = Field(
        default=0.5, ge=0, description="First backoff wait; doubles per attempt, with jitter."
    )
    async_threshold: int = Field(
        default=100_000, ge=1, description="Distinct texts from which the asynchronous job is used."
    )
    job_bucket: str = Field(
        default="", description="Bucket for the job's input and output; empty disables the job path."
    )
    job_prefix: str = Field(default="recsys/comprehend", description="Folder in job_bucket for job files.")
    job_role_arn: str = Field(default="", description="Role Comprehend assumes to read and write job_bucket.")
    job_timeout_seconds: float = Field(
        default=4 * 3600, gt=0, description="Give up (and stop the job) after this long."
    )
    job_poll_seconds: float = Field(default=30, ge=0, description="Wait between status checks of a job.")
    _clients: dict = PrivateAttr(default_factory=dict)
    _last_errors: int = PrivateAttr(default=0)

    def client(self, service: str = "comprehend") -> Any:
        """The client of `service` ("comprehend" or "s3"), built once per resource instance."""
        if service not in self._clients:
            self._clients[service] = aws_client(service, self.region or None)
        return self._clients[service]

    def last_errors(self) -> int:
        return self._last_errors

    def score(self, texts: Sequence[str]) -> pd.DataFrame:
        series = pd.Series(list(texts), dtype=object).fillna("").astype(str).map(truncate_utf8)
        codes, distinct = pd.factorize(series)
        distinct = list(distinct)
        to_send = [i for i, text in enumerate(distinct) if text.strip()]
        results: list[dict | None] = [None] * len(distinct)
        use_job = len(to_send) >= self.async_threshold and self.job_bucket and self.job_role_arn
        failed = self._run_jobs(distinct, to_send, results) if use_job else to_send
        self._last_errors = len(self._detect_in_batches(distinct, failed, results))
        return sentiment_frame(results).iloc[codes].reset_index(drop=True)

    def _detect_in_batches(self, texts: list[str], indices: list[int], results: list) -> list[int]:
        """BatchDetectSentiment over `indices` of `texts`, filling `results`; returns the indices that still failed."""
        failed = []

        def send(pending: list[int]) -> list[int]:
            try:
                response = self.client().batch_detect_sentiment(
                    TextList=[texts[i] for i in pending], LanguageCode=self.language_code
                )
            except ClientError as error:
                if error.response["Error"]["Code"] in THROTTLING_CODES:
                    return pending
                raise
            for result in response["ResultList"]:
                results[pending[result["Index"]]] = result
            errors = {pending[e["Index"]]: e["ErrorCode"] for e in response["ErrorList"]}
            failed.extend(i for i, code in errors.items() if code in PERMANENT_ERROR_CODES)
            return [i for i, code in errors.items() if code not in PERMANENT_ERROR_CODES]

        for start in range(0, len(indices), BATCH_LIMIT):
            failed += retry_pending(
                send, indices[start : start + BATCH_LIMIT], self.document_attempts, self.retry_base_seconds
            )
        return failed

    def _run_jobs(self, texts: list[str], indices: list[int], results: list) -> list[int]:
        """Asynchronous jobs of up to a million lines over `indices`, filling `results`; the lines that failed."""
        failed = []
        for start in range(0, len(indices), JOB_LINE_LIMIT):
            lines = indices[start : start + JOB_LINE_LIMIT]
            outcome = self._run_job([one_line(texts[i]) for i in lines])
            for line, index in enumerate(lines):
                if line in outcome:
                    results[index] = outcome[line]
                else:
                    failed.append(index)
        return failed

    def _run_job(self, lines: list[str]) -> dict[int, dict]:
        """One sentiment detection job over `lines`; returns {line number: result} for the lines that succeeded."""
        folder = f"{self.job_prefix.strip('/')}/{uuid.uuid4().hex}"
        s3 = self.client("s3")
        s3.put_object(Bucket=self.job_bucket, Key=f"{folder}/input.txt", Body="\n".join(lines).encode("utf-8"))
        job_id = self.client().start_sentiment_detection_job(
            InputDataConfig={"S3Uri": f"s3://{self.job_bucket}/{folder}/input.txt", "InputFormat": "ONE_DOC_PER_LINE"},
            OutputDataConfig={"S3Uri": f"s3://{self.job_bucket}/{folder}/output/"},
            DataAccessRoleArn=self.job_role_arn,
            JobName=f"recsys-sentiment-{folder.rsplit('/', 1)[-1]}",
            LanguageCode=self.language_code,
        )["JobId"]
        properties = self._wait_for_job(job_id)
        bucket, _, key = properties["OutputDataConfig"]["S3Uri"].removeprefix("s3://").partition("/")
        archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return {record["Line"]: record for record in job_output_lines(archive) if "Sentiment" in record}

    def _wait_for_job(self, job_id: str) -> dict:
        """Poll until the job completes; a failed or stopped job, or the timeout (which stops it), is an error."""
        deadline = time.monotonic() + self.job_timeout_seconds
        while True:
            properties = self.client().describe_sentiment_detection_job(JobId=job_id)["SentimentDetectionJobProperties"]
            status = properties["JobStatus"]
            if status == "COMPLETED":
                return properties
            if status in ("FAILED", "STOPPED", "STOP_REQUESTED"):
                raise SentimentJobError(
                    f"sentiment detection job {job_id} {status}: {properties.get('Message', 'no reason given')}"
                )
            if time.monotonic() >= deadline:
                self.client().stop_sentiment_detection_job(JobId=job_id)
                raise SentimentJobError(
                    f"sentiment detection job {job_id} still {status} after {self.job_timeout_seconds:,.0f} s; "
                    "stopped it"
                )
            time.sleep(self.job_poll_seconds)
