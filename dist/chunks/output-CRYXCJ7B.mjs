import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{e as a,f as b}from"./chunk-ZZ4C6MNP.mjs";import"./chunk-7X6TZ6D2.mjs";export{b as Output,a as colorLevel};
