/**
 * The parts of the MCP SDK the server uses. scripts/build.mjs bundles this module on its own,
 * into dist/mcp-sdk.cjs, which only `vm-state mcp` loads: no other command pays for the SDK
 * and the second zod it brings (README, "For agents: MCP").
 */
export { Server } from '@modelcontextprotocol/sdk/server/index.js';
export { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
export { ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
