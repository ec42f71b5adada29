import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { SiyuFunction } from './siyu-function.js';

/** The issuer and audiences the HTTP API's JWT authorizer accepts. */
export interface JwtSettings {
  readonly issuer: string;
  readonly audience: readonly string[];
}

/** The role groups every pool has; tenant groups are created per brand (see `Identity`). */
const ROLE_GROUPS = {
  admin: 'Everything in the tenant.',
  staff: 'Settings, staff and accounts read-only; the contacts they own and the accounts they operate.',
} as const;

/**
 * The default identity provider: a Cognito user pool whose access tokens carry `tenant_id` and
 * `role`, set by the pre-token-generation trigger (`functions/pre-token.ts`) from the user's
 * groups, which only an administrator of the AWS account can change:
 *
 *  - `tenant:<tenantId>` — the brand the user works for (created when a brand is onboarded:
 *    `aws cognito-idp create-group --user-pool-id <pool> --group-name tenant:acme`);
 *  - `role:admin` or `role:staff` — created here.
 *
 * A user needs exactly one of each (`admin-add-user-to-group`); otherwise the token carries
 * neither claim and the API answers 401. The token's `sub` is the staff id (`POST /v1/staff`).
 * Users are created by an administrator; there is no self sign-up.
 */
export class Identity extends Construct implements JwtSettings {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  readonly preTokenFunction: SiyuFunction;
  readonly issuer: string;
  readonly audience: readonly string[];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.preTokenFunction = new SiyuFunction(this, 'PreTokenGeneration', {
      entry: 'functions/pre-token.ts',
      description: 'Puts tenant_id and role, taken from Cognito groups, into tokens',
      // Cognito waits 5 s for a trigger.
      timeoutSeconds: 5,
      memoryMb: 256,
    });

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: 'siyu',
      // Access-token customisation (trigger event V2_0) needs Essentials or Plus.
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.userPool.addTrigger(
      cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG,
      this.preTokenFunction.fn,
      cognito.LambdaVersion.V2_0,
    );
    for (const [role, description] of Object.entries(ROLE_GROUPS)) {
      this.userPool.addGroup(`Role${role}`, { groupName: `role:${role}`, description });
    }

    this.client = this.userPool.addClient('Client', {
      // Front ends sign in with SRP; no hosted UI, so no OAuth flows (CDK would enable implicit).
      disableOAuth: true,
      authFlows: { userSrp: true },
      generateSecret: false,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });

    this.issuer = `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${this.userPool.userPoolId}`;
    // Cognito access tokens carry the app client id as `client_id` (no `aud`); API Gateway
    // matches it against the audience.
    this.audience = [this.client.userPoolClientId];

    Validations.of(this.userPool).acknowledge(
      {
        id: 'AwsSolutions-COG2',
        reason:
          'MFA (TOTP) is optional so each brand can roll it out to its staff; requiring it for every ' +
          'user is a per-deployment decision (set mfa to REQUIRED).',
      },
      {
        id: 'AwsSolutions-COG8',
        reason:
          'Essentials is the least tier with access-token customisation; Plus (threat protection) ' +
          'multiplies the per-user price and is left to the operator of a deployment.',
      },
    );
  }
}
