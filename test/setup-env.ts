/**
 * Runs before every test file: no test can reach a real AWS account, whatever the shell has.
 * Endpoints of the local stack are set by the stack itself when a test starts one.
 */
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_DEFAULT_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// Quiet by default; set them to `info`/`INFO` to see the local stack's and the handlers' logs.
process.env.SIYU_LOCAL_LOG ??= 'warn';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
