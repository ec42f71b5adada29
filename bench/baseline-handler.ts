import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The bundle benchmark's baseline: a bare handler that only creates the clients. */
const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const eventBridge = new EventBridgeClient({});

export const handler = async () => ({ statusCode: 200, body: String(Boolean(db && eventBridge)) });
