"""An ordinary python-telegram-bot 22.8 bot, long polling, pointed at our Bot API by its
base URL only. Run by server-kit/tests/botapi_ptb.rs:

    python ptb_echo_bot.py BASE_URL TOKEN      (BASE_URL: http://127.0.0.1:PORT/bot)

At start it sets its commands (setMyCommands). /start is answered "Hi NAME! Send me text."
(NAME from getChat) with an inline keyboard: a callback button and a URL button. Pressing the
callback button is answered "You pressed it!" (answerCallbackQuery) and the message is edited
to "Pressed!" (editMessageText). /bold is answered in HTML; /delete is answered "this goes
away", which the bot then deletes (deleteMessage). Other text is echoed back as a reply to
the message, after a "typing" action (sendChatAction).
"""
import asyncio
import logging
import sys

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes,
                          MessageHandler, filters)

BASE_URL, TOKEN = sys.argv[1], sys.argv[2]


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = await context.bot.get_chat(update.effective_chat.id)
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton("Press me", callback_data="pressed"),
        InlineKeyboardButton("Site", url="https://example.com/"),
    ]])
    await update.message.reply_text(f"Hi {chat.first_name}! Send me text.", reply_markup=keyboard)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer("You pressed it!")
    await query.edit_message_text(f"Pressed {query.data}!")


async def bold(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_html("<b>bold</b> and <i>italic</i>")


async def delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    doomed = await update.message.reply_text("this goes away")
    await asyncio.sleep(1)
    await doomed.delete()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await context.bot.send_chat_action(update.effective_chat.id, "typing")
    await update.message.reply_text(update.message.text, do_quote=True)


async def post_init(app) -> None:
    await app.bot.set_my_commands([BotCommand("start", "Say hello"),
                                   BotCommand("delete", "Watch a message go")])
    commands = await app.bot.get_my_commands()
    assert [c.command for c in commands] == ["start", "delete"], commands


def main() -> None:
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
    # httpx logs every request URL, token included: keep it to warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(BASE_URL)
        .base_file_url(BASE_URL.replace("/bot", "/file/bot"))
        .post_init(post_init)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("bold", bold))
    app.add_handler(CommandHandler("delete", delete))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    print("polling", flush=True)
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
