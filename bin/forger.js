#!/usr/bin/env node
console.log("hello from forger bin", process.argv.slice(2))
