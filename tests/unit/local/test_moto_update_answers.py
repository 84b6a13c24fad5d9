"""An UpdateItem's answer is the item as that update left it, as DynamoDB's is.

moto applies the update under moto_atomic's lock but builds the answer (`ReturnValues`) from the
stored item after the lock is released, so a concurrent ADD could change the item in between and two
callers were answered the same number: the store's sequence numbers (`ObjectStore.next_seq`, a task
feed's numbers) were then handed out twice (a flake of tests/contract/orka/test_task_feed.py)."""

from __future__ import annotations

import threading
import time

import boto3
from moto import mock_aws

from shared.local.moto_atomic import make_writes_atomic


def test_concurrent_adds_are_each_answered_their_own_number(monkeypatch):
    from moto.dynamodb.models.dynamo_type import Item

    make_writes_atomic()
    to_json = Item.to_json

    def slow_to_json(self):  # a thread switch while the answer is built, as a loaded machine gives one
        time.sleep(0.001)
        return to_json(self)

    monkeypatch.setattr(Item, "to_json", slow_to_json)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="counters", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        answers: list[int] = []
        threads, rounds = 4, 25

        def add() -> None:
            for _ in range(rounds):
                answer = client.update_item(TableName="counters", Key={"pk": {"S": "c"}}, UpdateExpression="ADD n :one",
                                            ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
                answers.append(int(answer["Attributes"]["n"]["N"]))

        workers = [threading.Thread(target=add) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert sorted(answers) == list(range(1, threads * rounds + 1))
