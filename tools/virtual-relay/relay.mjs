#!/usr/bin/env node
/**
 * A matter.js On/Off plug that looks like a Sonoff MINIR4M, for the no_neutral
 * test rig (tests/rig.py, tools/rig).
 *
 *   node relay.mjs --storage-dir DIR --serial SN [--port 5540] [--interface IF]
 *                  [--boot-reason power_on_reboot|brown_out_reset|...]
 *   node relay.mjs --export-paa DIR      # write the matter.js test PAA as DIR/*.der
 *
 * stdout carries one JSON object per line and nothing else (matter.js logs go
 * to stderr), so a test can wait for events; each has "t", the monotonic clock:
 *   {"event":"ready", "manual_code", "qr_code", "port", "serial", "commissioned", "on"}
 *   {"event":"onoff", "on": bool, "source": "controller"|"device"}
 *   {"event":"commissioned"} / {"event":"decommissioned"}
 *   {"event":"error", "message"}   {"event":"stopped"}
 * stdin takes one command per line: "on", "off", "toggle" (a press on the
 * device itself), "state" (answers with {"event":"state", ...}).
 * SIGTERM, SIGINT and the end of stdin close the node cleanly, so the server sees
 * it leave at once.
 *
 * GeneralDiagnostics (endpoint 0, cluster 0x33) is matter.js's own: RebootCount
 * (0/51/1) is kept in the storage and counts every start after the first,
 * UpTime (0/51/2) counts from going online, and BootReason (0/51/4) is what
 * --boot-reason says (unspecified by default); the BootReason event fires as
 * the node comes online. The rig reboots the relay by starting it again on the
 * same storage with the reason it simulates ("ready" echoes both).
 */

import { createInterface } from "node:readline";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { Endpoint, Environment, Logger, ServerNode, VendorId } from "@matter/main";
import { OnOffPlugInUnitDevice } from "@matter/main/devices/on-off-plug-in-unit";
import { TestCert_PAA_NoVID_Cert } from "@matter/main/protocol";
import { GeneralDiagnostics } from "@matter/main/clusters/general-diagnostics";

const SONOFF_VENDOR_ID = 0x1321;
const MINIR4M_PRODUCT_ID = 0x0002;

// matter.js reads its own configuration from argv too ("--storage" would set its
// "storage" variable), so our option names stay clear of its variables.
const { values: args } = parseArgs({
    options: {
        "storage-dir": { type: "string" },
        serial: { type: "string" },
        port: { type: "string", default: "5540" },
        interface: { type: "string" },
        passcode: { type: "string", default: "20202021" },
        discriminator: { type: "string", default: "3840" },
        "software-version": { type: "string", default: "1.4.2" },
        "export-paa": { type: "string" },
        "boot-reason": { type: "string", default: "unspecified" },
    },
});

// "t" is CLOCK_MONOTONIC in seconds, the clock of Python's time.monotonic(),
// so the rig can time events to the device's own moment.
function emit(event) {
    const t = Number(process.hrtime.bigint()) / 1e9;
    process.stdout.write(`${JSON.stringify({ ...event, t })}\n`);
}

if (args["export-paa"]) {
    // The server trusts only the PAA certificates in its PAA dir, and loads
    // only *.der files there (and wipes the dir unless it has a .version).
    mkdirSync(args["export-paa"], { recursive: true });
    writeFileSync(join(args["export-paa"], "matterjs-test-paa-novid.der"), TestCert_PAA_NoVID_Cert);
    writeFileSync(join(args["export-paa"], ".version"), "no-neutral rig\n");
    emit({ event: "paa_exported", dir: args["export-paa"] });
    process.exit(0);
}

if (!args["storage-dir"] || !args.serial) {
    process.stderr.write("usage: relay.mjs --storage-dir DIR --serial SN [--port P] [--interface IF]\n");
    process.exit(2);
}

// Keep stdout for the JSON events.
Logger.destinations.default.write = text => process.stderr.write(`${text}\n`);
Logger.level = process.env.RELAY_LOG_LEVEL ?? "notice";

const environment = Environment.default;
environment.vars.set("storage.path", args["storage-dir"]);
// We close the node ourselves on a signal, to report it.
environment.vars.set("runtime.signals", false);
if (args.interface) {
    environment.vars.set("mdns.networkInterface", args.interface);
}

// Matter's BootReasonEnum, by the rig's snake_case names.
const BOOT_REASONS = {
    unspecified: GeneralDiagnostics.BootReason.Unspecified,
    power_on_reboot: GeneralDiagnostics.BootReason.PowerOnReboot,
    brown_out_reset: GeneralDiagnostics.BootReason.BrownOutReset,
    software_watchdog_reset: GeneralDiagnostics.BootReason.SoftwareWatchdogReset,
    hardware_watchdog_reset: GeneralDiagnostics.BootReason.HardwareWatchdogReset,
    software_update_completed: GeneralDiagnostics.BootReason.SoftwareUpdateCompleted,
    software_reset: GeneralDiagnostics.BootReason.SoftwareReset,
};
const bootReason = BOOT_REASONS[args["boot-reason"]];
if (bootReason === undefined) {
    process.stderr.write(
        `--boot-reason: unknown reason ${JSON.stringify(args["boot-reason"])}; ` +
            `one of ${Object.keys(BOOT_REASONS).join(", ")}\n`,
    );
    process.exit(2);
}

const [major, minor, patch] = args["software-version"].split(".").map(Number);
const node = await ServerNode.create({
    id: "relay",
    network: { port: Number(args.port) },
    commissioning: {
        passcode: Number(args.passcode),
        discriminator: Number(args.discriminator),
    },
    productDescription: {
        name: "MINIR4M",
        deviceType: OnOffPlugInUnitDevice.deviceType,
    },
    basicInformation: {
        vendorName: "SONOFF",
        vendorId: VendorId(SONOFF_VENDOR_ID),
        productName: "MINIR4M",
        productLabel: "MINIR4M",
        productId: MINIR4M_PRODUCT_ID,
        nodeLabel: `MINIR4M ${args.serial}`,
        serialNumber: args.serial,
        uniqueId: `no-neutral-rig-${args.serial}`,
        hardwareVersion: 1,
        hardwareVersionString: "1.0",
        softwareVersion: (major << 16) | (minor << 8) | patch,
        softwareVersionString: args["software-version"],
    },
    // Not persisted (the reason is this boot's); RebootCount is, by matter.js.
    generalDiagnostics: { bootReason },
});

const relay = new Endpoint(OnOffPlugInUnitDevice, { id: "relay" });
await node.add(relay);

// A change we make from stdin is a press on the device; anything else came
// from a controller.
let pendingLocal = 0;
relay.events.onOff.onOff$Changed.on(on => {
    const source = pendingLocal > 0 ? "device" : "controller";
    if (pendingLocal > 0) {
        pendingLocal -= 1;
    }
    emit({ event: "onoff", on, source });
});
node.lifecycle.commissioned.on(() => emit({ event: "commissioned" }));
node.lifecycle.decommissioned.on(() => emit({ event: "decommissioned" }));

async function setOnOff(on) {
    if (relay.state.onOff.onOff === on) {
        return;
    }
    pendingLocal += 1;
    await relay.set({ onOff: { onOff: on } });
}

async function handle(line) {
    const command = line.trim().toLowerCase();
    switch (command) {
        case "":
            return;
        case "on":
            return setOnOff(true);
        case "off":
            return setOnOff(false);
        case "toggle":
            return setOnOff(!relay.state.onOff.onOff);
        case "state":
            emit({ event: "state", on: relay.state.onOff.onOff, commissioned: node.lifecycle.isCommissioned });
            return;
        default:
            emit({ event: "error", message: `unknown command ${JSON.stringify(command)}` });
    }
}

let stopping = false;
async function stop(code) {
    if (stopping) {
        return;
    }
    stopping = true;
    try {
        await node.close();
    } finally {
        emit({ event: "stopped" });
        process.exit(code);
    }
}
process.on("SIGTERM", () => void stop(0));
process.on("SIGINT", () => void stop(0));

await node.start();

const { manualPairingCode, qrPairingCode } = node.state.commissioning.pairingCodes;
emit({
    event: "ready",
    manual_code: manualPairingCode,
    qr_code: qrPairingCode,
    passcode: Number(args.passcode),
    discriminator: Number(args.discriminator),
    port: Number(args.port),
    serial: args.serial,
    commissioned: node.lifecycle.isCommissioned,
    on: relay.state.onOff.onOff,
    reboot_count: node.state.generalDiagnostics.rebootCount,
    boot_reason: args["boot-reason"],
});

// Commands run one after another, in the order they were typed.
let queue = Promise.resolve();
createInterface({ input: process.stdin })
    .on("line", line => {
        queue = queue.then(() => handle(line)).catch(error => emit({ event: "error", message: String(error) }));
    })
    // The rig that started us is gone: leave rather than linger as an orphan.
    .on("close", () => void queue.then(() => stop(0)));
