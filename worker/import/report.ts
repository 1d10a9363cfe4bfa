/**
 * How an import answers: the JSON result (the first 1,000 refused rows listed), or — asked for with
 * `Accept: application/x-ndjson` — the full report as a stream, one refused row per line as it is
 * found, then the summary. The stream starts before the import ends, so its status is 200 whatever
 * happens later; an import cut short (e.g. 503 import_interrupted) ends the stream with the error
 * object instead of the summary. Either way, the webhooks hear which customers and cookies changed
 * (entries.ts), so segment entries leave within seconds of an import.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../env";
import { errorBody } from "../errors";
import { logError } from "../lib/log";
import { requestProfileCheck } from "../pipeline/producers";
import type { ImportOptions, ImportResult } from "./run-import";

type Run<T extends ImportResult = ImportResult> = (options: ImportOptions) => Promise<T>;

function wantsNdjson(accept: string | undefined): boolean {
  return (accept ?? "").split(",").some((part) => {
    const type = part.split(";")[0].trim().toLowerCase();
    return type === "application/x-ndjson" || type === "application/ndjson";
  });
}

async function runAndNotify<T extends ImportResult>(
  c: Context<AppEnv>,
  run: Run<T>,
  onReject?: ImportOptions["onReject"],
) {
  const written = { cookies: [], customers: [] };
  try {
    return await run({ written, onReject });
  } finally {
    // Rows written before a failure changed profiles too.
    await requestProfileCheck(c.env, c.var.site.id, written);
  }
}

/** The JSON answer's import run (the route handler's). */
export function runImportFor<T extends ImportResult>(c: Context<AppEnv>, run: Run<T>): Promise<T> {
  return runAndNotify(c, run);
}

/**
 * Route middleware: answers with the NDJSON report when the client asks for it, else passes on to
 * the handler's JSON answer. A middleware rather than a branch of the handler, so the handler keeps
 * its typed JSON response.
 */
export function ndjsonReport(importer: (c: Context<AppEnv>) => Run) {
  return createMiddleware<AppEnv>(async function ndjsonReport(c, next) {
    if (!wantsNdjson(c.req.header("Accept"))) return next();
    return reportAsNdjson(c, importer(c));
  });
}

function reportAsNdjson(c: Context<AppEnv>, run: Run): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  // Not awaited: a client that reads the answer only after sending its whole file must not stall
  // the import (and with it the reading of that file) on a full stream.
  const line = (value: unknown) => void writer.write(encoder.encode(`${JSON.stringify(value)}\n`)).catch(() => {});
  const done = runAndNotify(c, run, (rejection) => line(rejection))
    .then(({ rejected: _listed, ...summary }) => line(summary))
    .catch((error) => {
      if (!(error instanceof HTTPException)) {
        logError("import.report_failed", { requestId: c.var.requestId, site: c.var.site.id, error });
      }
      const status = error instanceof HTTPException ? error.status : 500;
      const code =
        (error instanceof HTTPException ? (error.cause as { code?: string } | undefined)?.code : undefined) ??
        undefined;
      line(errorBody(status, error instanceof HTTPException ? error.message : "Internal error", code));
    })
    .finally(() => writer.close().catch(() => {}));
  c.executionCtx.waitUntil(done);
  return new Response(readable, { status: 200, headers: { "Content-Type": "application/x-ndjson" } });
}
