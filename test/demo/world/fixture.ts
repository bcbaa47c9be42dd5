import { createWorld } from "../../../src/demo/world/world.js";
import { generateTasks } from "../../../src/demo/world/tasks/index.js";

/** One world and its default task set, shared by the world tests (generation takes about half a second). */
export const world = createWorld(11);
export const tasks = generateTasks(world);
