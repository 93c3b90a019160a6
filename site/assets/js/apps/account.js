// The members' application data-app="account" (../members/start.js).
import { startApp } from "../members/start.js";
import { attestationBanner } from "../members/attestation.js";
import { initAccount } from "../members/account.js";

startApp("account", initAccount, attestationBanner);
