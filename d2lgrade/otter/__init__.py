"""Otter-Grader's side: the plugin that grades inside an Otter autograder zip, the zip, the written answers' PDF."""
