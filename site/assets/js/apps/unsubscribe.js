// The members' application data-app="unsubscribe" (../members/start.js).
import { startApp } from "../members/start.js";
import { initUnsubscribe } from "../alerts/unsubscribe.js";

// Reached from a mail without signing in: no attestation banner, which
// would ask who is signed in.
startApp("unsubscribe", initUnsubscribe);
