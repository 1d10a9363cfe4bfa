/**
 * The events consumer's raw event archive (docs/architecture.md, "Raw event archive"): before any
 * D1 write of a delivery, the raw events of its `events` messages go to R2 as one NDJSON object per
 * site (worker/archive/archive.ts). Its key comes from the messages themselves — the newest
 * message's enqueue time and a hash of the message IDs and lines — so a redelivery of the same
 * messages overwrites the object instead of adding a second copy.
 *
 * A message whose object could not be written is not applied (it is retried, and its last attempt
 * lands in rejected_events like any failure): the archive loses no batch. After the D1 writes,
 * an object that holds lines of messages that were not written (to be retried) is rewritten
 * without them, so the retry's own object holds them once.
 */
import {
  type ArchivedEvent,
  archiveKey,
  archiveLines,
  contentName,
  putLines,
  rewriteLines,
  toNdjson,
} from "../archive/archive";
import { logError } from "../lib/log";
import type { EventsMessage, EventsQueueMessage } from "./messages";

type SiteObject = { key: string; lines: Map<Message<EventsQueueMessage>, ArchivedEvent[]> };

export type DeliveryArchive = {
  /** Messages whose archive object could not be written: not to be applied now. */
  failed: Set<Message<EventsQueueMessage>>;
  /** Keeps in each object only the lines of the messages that were written. */
  settle(written: ReadonlySet<Message<EventsQueueMessage>>): Promise<void>;
};

function isEventsMessage(message: Message<EventsQueueMessage>): message is Message<EventsMessage> {
  return message.body.kind === "events" && message.body.events.length > 0;
}

export async function archiveDelivery(
  bucket: R2Bucket,
  messages: readonly Message<EventsQueueMessage>[],
): Promise<DeliveryArchive> {
  const bySite = new Map<number, Message<EventsMessage>[]>();
  for (const message of messages.filter(isEventsMessage)) {
    bySite.set(message.body.siteId, [...(bySite.get(message.body.siteId) ?? []), message]);
  }
  const failed = new Set<Message<EventsQueueMessage>>();
  const objects: SiteObject[] = [];
  await Promise.all(
    [...bySite].map(async ([siteId, group]) => {
      const lines = new Map<Message<EventsQueueMessage>, ArchivedEvent[]>(
        group.map((m) => [
          m,
          archiveLines([{ cookieId: m.body.cookieId, receivedAt: m.body.receivedAt, events: m.body.events }]),
        ]),
      );
      const all = [...lines.values()].flat();
      const newest = Math.max(...group.map((m) => m.timestamp.getTime()));
      const key = archiveKey(
        siteId,
        newest,
        await contentName(
          group.map((m) => m.id),
          toNdjson(all),
        ),
      );
      try {
        await putLines(bucket, key, all);
        objects.push({ key, lines });
      } catch (error) {
        logError("archive.put_failed", { site: siteId, error });
        for (const message of group) failed.add(message);
      }
    }),
  );
  return {
    failed,
    async settle(written) {
      for (const { key, lines } of objects) {
        if ([...lines.keys()].every((m) => written.has(m))) continue;
        const kept = [...lines].flatMap(([m, own]) => (written.has(m) ? own : []));
        await rewriteLines(bucket, key, kept).catch((error) =>
          // The retried messages' lines stay twice in the archive: logged, never lost.
          logError("archive.settle_failed", { key, error }),
        );
      }
    },
  };
}
